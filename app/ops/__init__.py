"""Step-by-step traces of the operations a CNN is made of, in plain torch (no web code).

Every trace validates its arguments first and raises ``ValueError`` naming the bad value;
every result equals ``torch.nn.functional``'s for the same settings (see ``tests/ops``).
"""
