"""What a network computed and why: activations captured with hooks, how one activation was
computed, the filters it learned (galleries, activation maximisation, the MNIST digits that
excite a channel) and saliency maps. Pure functions over models and tensors; no web code.
"""
