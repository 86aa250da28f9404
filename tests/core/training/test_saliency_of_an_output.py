"""Saliency and Try it's predictions on a chosen output of a network with several."""
import torch

from pytorchgui import paths
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.training import network_format
from pytorchgui.core.training.metrics import predict
from pytorchgui.core.training.saliency import last_convolution, saliency

AUXILIARY = paths.example_networks_dir() / "auxiliary_head_cnn.json"


def test_the_heat_map_and_the_prediction_of_the_auxiliary_head_come_from_its_own_path():
    torch.manual_seed(0)
    model = compile_network(network_format.load(AUXILIARY))
    # the auxiliary head branches off after conv1: Grad-CAM on conv2 would have no gradient
    assert (last_convolution(model, 0), last_convolution(model, 1)) == ("conv2", "conv1")
    sample = torch.randint(0, 255, (1, 28, 28), dtype=torch.uint8)
    heat = saliency(model, sample, output_index=1)
    assert heat.method == "Grad-CAM on conv1" and heat.heat.shape == (28, 28)
    with torch.no_grad():
        aux = model(sample[None].float() / 255)[1].softmax(1)[0]
    assert torch.allclose(predict(model, sample, None, output_index=1), aux)
