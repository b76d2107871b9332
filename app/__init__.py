"""convscope: an interactive visualizer of convolution and CNN internals, for teaching."""

__version__ = "0.1.0"
