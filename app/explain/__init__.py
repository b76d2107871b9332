"""What a network computed and why: activations captured with hooks (and, later, filters and
saliency). Pure functions over models and tensors; no web code.
"""
