"""The network as a graph: the catalogue of layers, activations, losses and optimizers
(and PyTorchGUI's own layer classes), the network model, shape inference, the layout of
the designer and the compiler to a `torch.nn.Module`. Imports nothing from the groups
above it (data, training, interop)."""
