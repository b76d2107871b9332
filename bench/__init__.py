"""Benchmarks: ours vs the raw PyTorch compute (and vs Captum), measured side by side in one run.

Run ``make bench`` (all sections) or ``python -m bench convolution``.
"""
