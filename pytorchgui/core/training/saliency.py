"""What drives a prediction: a heat map over the input, from Captum (PyTorch's
interpretability library, a dependency of the app).

A network with a convolution gets Grad-CAM on its last convolution (the layer whose
feature maps still have a place in the image and the most meaning), upsampled to the
input; one without gets integrated gradients on the input itself (summed over channels).
Both explain the score of one class, the predicted one by default.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy
import torch
import torch.fx

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.training.metrics import model_input

CONVOLUTIONS = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)


class SaliencyError(PyTorchGUIError):
    """A saliency map that cannot be made for this network or sample, and why."""


@dataclass
class Saliency:
    heat: numpy.ndarray  # [H, W] (or [length]) in [0, 1], the input's size
    method: str  # "Grad-CAM on <layer>" or "integrated gradients"
    target: int  # the class explained


def last_convolution(model: torch.nn.Module, output_index: int = 0) -> str | None:
    """The last convolution the forward pass calls (a compiled network's graph order) on
    the way to output `output_index` (of a network with several: an auxiliary head may
    branch off before the last convolution), or None when there is none."""
    graph = getattr(model, "graph", None)
    names = ([node.target for node in _nodes_leading_to(graph, output_index) if node.op == "call_module"]
             if graph is not None else [name for name, _ in model.named_modules()])
    convolutions = [name for name in names if isinstance(model.get_submodule(name), CONVOLUTIONS)]
    return convolutions[-1] if convolutions else None


def _nodes_leading_to(graph, output_index: int) -> list:
    """The graph's nodes that output `output_index` depends on, in graph order."""
    [output] = [node for node in graph.nodes if node.op == "output"]
    result = output.args[0]
    wanted = [result[output_index] if isinstance(result, (tuple, list)) else result]
    needed = set()
    while wanted:
        node = wanted.pop()
        if isinstance(node, torch.fx.Node) and node not in needed:
            needed.add(node)
            wanted.extend(node.all_input_nodes)
    return [node for node in graph.nodes if node in needed]


def saliency(model: torch.nn.Module, sample: torch.Tensor, normalization=None, target: int | None = None,
             output_index: int = 0) -> Saliency:
    """The heat map of one uint8 sample [C, H, W] for class `target` (the prediction if None);
    of a model with several outputs, of the class scores at `output_index`."""
    try:
        # imported on use: 0.6 s, paid only by the first map
        from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam
    except ImportError:  # an environment installed without the app's dependencies
        raise SaliencyError("saliency maps need Captum, a dependency of PyTorchGUI: pip install captum") from None
    model.eval()
    x = model_input(model, sample, normalization)

    def scores(inputs):  # Captum explains one tensor of scores: the chosen output's
        output = model(inputs)
        return output[output_index] if isinstance(output, tuple) else output

    with torch.no_grad():
        output = scores(x)
    if output.dim() != 2 or output.shape[1] < 2:
        raise SaliencyError(f"a saliency map explains one class's score, but this network gives "
                            f"{list(output.shape[1:])} per sample (a regression): not available for it")
    target = int(output.argmax(1)) if target is None else target
    layer = last_convolution(model, output_index)
    with torch.enable_grad():
        if layer is not None:
            attribution = LayerGradCam(scores, model.get_submodule(layer)).attribute(x, target=target)
            heat = LayerAttribution.interpolate(attribution, tuple(x.shape[2:]), "bilinear" if x.dim() == 4
                                                else "linear")[0, 0].clamp_min(0)
            method = f"Grad-CAM on {layer}"
        else:
            x.requires_grad_(True)
            attribution = IntegratedGradients(scores).attribute(x, target=target, n_steps=32)
            heat = attribution[0].abs().sum(0) if attribution.dim() > 2 else attribution[0].abs()
            method = "integrated gradients"
    heat = heat.detach().float().cpu()
    if not torch.isfinite(heat).all():
        raise SaliencyError("the gradients are not finite for this sample: no saliency map")
    peak = float(heat.max())
    return Saliency((heat / peak if peak > 0 else heat).numpy(), method, target)
