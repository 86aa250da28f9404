"""Shape inference on the meta device, and the compiled module against hand-written PyTorch."""
import pytest
import torch
from torch import nn

from bench.reference_models import HandCNN, HandLeNet, HandMLP, HandResNet
from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.core.graph.compiler import compile_network, module_names
from pytorchgui.core.errors import GraphError, ParameterError, ShapeError
from pytorchgui.core.data.fit import fit_to_dataset
from pytorchgui.core.graph.merge import Add
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes, resolve_auto, summary_rows


def example(name):
    return network_format.load(paths.example_networks_dir() / f"{name}.json")


def test_lenet_shapes_and_parameter_counts():
    report = infer_shapes(example("lenet5"))
    assert report.ok
    shapes = {name: node.output_shape for name, node in report.nodes.items()}
    assert shapes["conv1"] == (6, 28, 28) and shapes["pool1"] == (6, 14, 14)
    assert shapes["conv2"] == (16, 10, 10) and shapes["pool2"] == (16, 5, 5)
    assert shapes["flatten"] == (400,) and shapes["fc3"] == (10,)
    assert report.nodes["conv1"].parameter_count == 6 * 25 + 6
    assert report.total_parameters == 61706
    assert report.output_shape == (10,)
    assert summary_rows(example("lenet5"), report)[0] == {"node": "conv1", "type": "Conv2d", "output_shape": "[6, 28, 28]",
                                                        "parameters": 156, "problem": ""}


def test_auto_parameters_are_filled_from_the_input():
    report = infer_shapes(example("small_cnn"))
    assert report.ok
    assert report.nodes["conv1"].parameters["in_channels"] == 3
    assert report.nodes["bn2"].parameters["num_features"] == 32
    assert report.nodes["fc1"].parameters["in_features"] == 64 * 8 * 8
    assert report.nodes["fc2"].parameters["in_features"] == 128


def test_shape_inference_allocates_no_weights():
    import resource

    # 30000 x 30000 float32 weights would take 3.6 GB; on the meta device they take nothing.
    network = Network()
    network.add_node("Linear", "big", {"in_features": "auto", "out_features": 30000}, first_layer=True)
    network.set_input([30000])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = infer_shapes(network)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert report.ok and report.nodes["big"].parameter_count == 30000 * 30000 + 30000
    assert grown_kib < 200 * 1024


def chain(*specs, input_shape=(3, 32, 32)):
    network = Network()
    previous = None
    for name, type_name, parameters in specs:
        network.add_node(type_name, name, parameters, first_layer=previous is None)
        if previous:
            network.connect(previous, name)
        previous = name
    network.set_input(list(input_shape))
    return network


def problem_messages(network):
    return [p.message for p in infer_shapes(network).problems]


def test_channel_mismatch_names_the_node():
    network = chain(("conv1", "Conv2d", {"in_channels": 3, "out_channels": 3, "kernel_size": 3}),
                    ("conv2", "Conv2d", {"in_channels": 6, "out_channels": 8, "kernel_size": 3}))
    assert problem_messages(network) == ["Conv2d 'conv2' expects 6 input channels but gets 3"]
    report = infer_shapes(network)
    assert report.nodes["conv1"].output_shape == (3, 30, 30)
    assert report.nodes["conv2"].error == "Conv2d 'conv2' expects 6 input channels but gets 3"


def test_feature_mismatch_and_missing_flatten():
    network = chain(("conv", "Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}),
                    ("fc", "Linear", {"in_features": 100, "out_features": 10}))
    assert problem_messages(network) == ["Linear 'fc' expects 100 input features but gets 30: add a Flatten layer "
                                         "before it"]


def test_rank_mismatch_suggests_a_reshape():
    network = chain(("conv", "Conv2d", {"in_channels": 1, "out_channels": 4, "kernel_size": 3}),
                    input_shape=(784,))
    assert problem_messages(network) == ["Conv2d 'conv' expects input of shape [channels, height, width] but gets "
                                         "[784]: add a reshape layer (Unflatten, Flatten) or change the input shape"]


def test_batchnorm1d_takes_features_or_sequences():
    network = chain(("fc", "Linear", {"in_features": "auto", "out_features": 6}),
                    ("bn", "BatchNorm1d", {"num_features": "auto"}), input_shape=(4,))
    assert infer_shapes(network).output_shape == (6,)
    network = chain(("bn", "BatchNorm1d", {"num_features": "auto"}), input_shape=(3, 8, 8))
    assert problem_messages(network) == [
        "BatchNorm1d 'bn' expects input of shape [features] or [channels, length] but gets [3, 8, 8]: add a "
        "reshape layer (Unflatten, Flatten) or change the input shape"]


def test_torch_errors_are_reported_with_the_input_shape():
    network = chain(("conv", "Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 50}))
    [message] = problem_messages(network)
    assert message.startswith("Conv2d 'conv' cannot take input of shape [3, 32, 32]: ")


def test_constructor_refusals_are_reported():
    network = chain(("conv", "Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "groups": 2}))
    assert problem_messages(network) == ["Conv2d 'conv' cannot be built with these parameters: in_channels must be "
                                         "divisible by groups"]


def test_merge_of_different_shapes_is_refused():
    network = chain(("a", "Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}))
    network.add_node("Conv2d", "b", {"in_channels": 3, "out_channels": 4, "kernel_size": 5}, first_layer=True)
    network.add_node("Add", "sum")
    network.connect("a", "sum")
    network.connect("b", "sum")
    assert problem_messages(network) == ["Add 'sum' needs inputs of one shape, or ones that broadcast together such as "
                                         "[C, 1, 1] and [C, H, W], but gets [4, 30, 30], [4, 28, 28]"]


def test_missing_input_and_unresolvable_auto():
    network = chain(("fc", "Linear", {"in_features": "auto", "out_features": 2}))
    network.set_input(None)
    assert problem_messages(network) == ["the input shape is not set: set it, or fit the network to a dataset"]
    entry = network.entry("fc")
    with pytest.raises(ParameterError, match="'in_features' cannot be 'auto' for an input of shape \\[\\]"):
        resolve_auto(entry, {"in_features": "auto", "out_features": 2}, [(2,)])


def test_nodes_after_a_failing_node_are_not_reported_twice():
    network = chain(("conv", "Conv2d", {"in_channels": 9, "out_channels": 4, "kernel_size": 3}),
                    ("relu", "ReLU", {}), ("flatten", "Flatten", {}))
    assert problem_messages(network) == ["Conv2d 'conv' expects 9 input channels but gets 3"]


def test_compile_refuses_a_network_with_problems():
    network = chain(("conv", "Conv2d", {"in_channels": 9, "out_channels": 4, "kernel_size": 3}))
    with pytest.raises(ShapeError, match="does not compile: Conv2d 'conv' expects 9 input channels"):
        compile_network(network)
    with pytest.raises(GraphError, match="the network is empty"):
        compile_network(Network())
    with pytest.raises(GraphError, match="Conv1d parameter 'in_channels' must be >= 1"):
        compile_network(example("legacy_example"))


def test_module_names_are_identifiers_and_unique():
    network = Network()
    for name in ("Layer 1", "Layer_1", "2nd", "class", "x"):
        network.add_node("ReLU", name)
    assert list(module_names(network).values()) == ["Layer_1", "Layer_1_2", "n_2nd", "n_class", "n_x"]


def test_compiled_module_is_an_ordinary_module():
    module = compile_network(example("lenet5"))
    assert isinstance(module, nn.Module)
    assert list(module.state_dict())[:2] == ["conv1.weight", "conv1.bias"]
    assert "self.conv1(x)" in module.code
    assert "(conv1): Conv2d(1, 6, kernel_size=(5, 5)" in str(module)
    out = module(torch.randn(4, 1, 28, 28))
    assert out.shape == (4, 10)
    out.sum().backward()
    assert module.conv1.weight.grad is not None


# -- equivalence with the same networks written by hand (bench/reference_models.py) -----------
@pytest.mark.parametrize(
    "name, hand_written, shape",
    [("lenet5", HandLeNet, (1, 28, 28)), ("mlp", HandMLP, (1, 28, 28)), ("small_cnn", HandCNN, (3, 32, 32)),
     ("small_resnet", HandResNet, (3, 32, 32))],
)
def test_compiled_equals_hand_written(name, hand_written, shape):
    torch.manual_seed(0)
    compiled = compile_network(example(name))
    reference = hand_written()
    # Same weights: the compiled state_dict keys are the node names the hand-written module uses.
    reference.load_state_dict(compiled.state_dict())
    x = torch.randn(8, *shape)
    for mode in ("train", "eval"):
        getattr(compiled, mode)()
        getattr(reference, mode)()
        if mode == "train":
            compiled.apply(lambda m: setattr(m, "p", 0.0) if isinstance(m, nn.Dropout | nn.Dropout2d) else None)
        torch.testing.assert_close(compiled(x), reference(x), rtol=0, atol=0)


def test_branches_merges_recurrent_and_unpool_compile():
    network = Network()
    network.set_input([5, 8])
    network.add_node("LSTM", "lstm", {"input_size": "auto", "hidden_size": 6, "batch_first": True}, first_layer=True)
    network.add_node("MultiheadAttention", "attention", {"embed_dim": "auto", "num_heads": 2, "batch_first": True})
    network.add_node("Concatenate", "join", {"dim": 2})
    network.add_node("Flatten", "flatten")
    network.connect("lstm", "attention")
    network.connect("lstm", "join")
    network.connect("attention", "join")
    network.connect("join", "flatten")
    report = infer_shapes(network)
    assert report.ok, report.problems
    assert report.nodes["join"].output_shape == (5, 12) and report.output_shape == (60,)
    module = compile_network(network)
    assert module(torch.randn(3, 5, 8)).shape == (3, 60)

    unpool = Network()
    unpool.set_input([1, 8, 8])
    unpool.add_node("MaxPool2d", "pool", {"kernel_size": 2}, first_layer=True)
    unpool.add_node("ReLU", "relu")
    unpool.add_node("MaxUnpool2d", "unpool", {"kernel_size": 2})
    unpool.connect("pool", "relu")
    unpool.connect("pool", "unpool")
    unpool.connect("relu", "unpool")
    report = infer_shapes(unpool)
    assert report.ok, report.problems
    assert report.output_shape == (1, 8, 8)
    x = torch.randn(2, 1, 8, 8)
    values, indices = nn.functional.max_pool2d(x, 2, return_indices=True)
    expected = nn.functional.max_unpool2d(torch.relu(values), indices, 2)
    torch.testing.assert_close(compile_network(unpool)(x), expected)


def test_fit_to_dataset_sets_input_and_classes():
    network = example("small_cnn")
    changes = fit_to_dataset(network, [1, 28, 28], 7)
    assert changes == ["input shape [3, 32, 32] -> [1, 28, 28]", "'fc2' out_features 10 -> 7"]
    report = infer_shapes(network)
    assert report.ok and report.output_shape == (7,)
    assert report.nodes["fc1"].parameters["in_features"] == 64 * 7 * 7
    assert fit_to_dataset(network, [1, 28, 28], 7) == []


def test_fitting_lenet5_to_colour_images_fixes_every_input_size_on_the_way():
    network = example("lenet5")  # fixed sizes everywhere: conv1 takes 1 channel, fc1 400 features
    changes = fit_to_dataset(network, [3, 32, 32], 10)
    assert changes == ["input shape [1, 28, 28] -> [3, 32, 32]", "'conv1' in_channels 1 -> 3",
                       "'fc1' in_features 400 -> 576"]
    assert infer_shapes(network).ok and compile_network(network)(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert fit_to_dataset(network, [3, 32, 32], 10) == []


def test_merge_modules():
    a, b = torch.ones(2, 3), torch.full((2, 3), 3.0)
    assert torch.equal(Add()(a, b), torch.full((2, 3), 4.0))
