"""Exchange with the world outside the designer: importers (torchvision through torch.fx,
ONNX, state dicts), exports (Python, ONNX, torch.export), saved blocks, the clipboard and
the bundled templates. The top group: it may build on all the others."""
