"""Shapes and the compiled module of networks with several inputs and outputs (issue 27 item 2)."""
import torch

from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes


def two_in_two_out() -> Network:
    """image [1, 6, 6] -> conv -> flatten, and metadata [3] -> linear, joined; two heads."""
    net = Network()
    net.set_input([1, 6, 6], name="image")
    net.add_input("metadata", [3])
    net.add_node("Conv2d", "conv", {"in_channels": "auto", "out_channels": 2, "kernel_size": 3}, first_layer=True)
    net.add_node("Flatten", "flat")
    net.add_node("Linear", "meta", {"in_features": "auto", "out_features": 4}, first_layer="metadata")
    net.add_node("Concatenate", "join")
    net.add_node("Linear", "classes", {"in_features": "auto", "out_features": 5})
    net.add_node("Linear", "value", {"in_features": "auto", "out_features": 1})
    for source, target in (("conv", "flat"), ("flat", "join"), ("meta", "join"), ("join", "classes"),
                           ("join", "value")):
        net.connect(source, target)
    return net


def test_each_first_layer_gets_the_shape_of_its_input():
    report = infer_shapes(two_in_two_out())
    assert report.ok, report.problems
    assert report.nodes["conv"].input_shapes == [(1, 6, 6)]
    assert report.nodes["meta"].input_shapes == [(3,)] and report.nodes["meta"].parameters["in_features"] == 3
    assert report.nodes["join"].output_shape == (36,)
    assert report.outputs == ["classes", "value"]
    assert report.output == "classes" and report.output_shape == (5,)  # the first output
    assert report.output_shape_of("value") == (1,)


def test_an_input_of_a_wrong_shape_is_named():
    net = two_in_two_out()
    net.set_parameters("meta", {"in_features": 3, "out_features": 4})
    net.set_input([5], name="metadata")
    problems = infer_shapes(net).problems
    assert any(p.node == "meta" and "expects 3 input features but gets 5" in p.message for p in problems)
    net.inputs[1].shape = [0]
    message, = [p.message for p in infer_shapes(net).problems]
    assert message.startswith("input 'metadata': the input shape must be a list of positive integers")


def test_the_compiled_module_takes_one_argument_per_input_and_returns_a_tuple():
    net = two_in_two_out()
    module = compile_network(net).eval()
    assert "def forward(self, image, metadata):" in module.code
    assert module.node_names["n_meta"] == "meta"  # "meta" is an attribute of every GraphModule
    image, metadata = torch.randn(3, 1, 6, 6), torch.randn(3, 3)
    classes, value = module(image, metadata)
    assert classes.shape == (3, 5) and value.shape == (3, 1)
    joined = torch.cat([module.flat(module.conv(image)), module.n_meta(metadata)], 1)
    torch.testing.assert_close(value, module.value(joined))


def test_a_one_input_one_output_module_is_unchanged():
    net = Network()
    net.set_input([4], name="features")
    net.add_node("Linear", "fc", {"in_features": 4, "out_features": 2}, first_layer=True)
    module = compile_network(net)
    assert "def forward(self, x):" in module.code and "return fc" in module.code
    assert module(torch.randn(2, 4)).shape == (2, 2)
