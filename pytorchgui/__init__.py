"""PyTorchGUI: design, train and evaluate PyTorch networks without writing code."""

__version__ = "0.1.0"
