"""Inside the network: a node's output for one sample, a convolution's kernels, and the
samples that excite a channel most (core/training/inspection.py)."""
import pytest
import torch

from pytorchgui import paths
from pytorchgui.core.data.data_source import load_spec
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.training import network_format
from pytorchgui.core.training.inspection import (ATTENTION, FEATURE_MAPS, MATRIX, VECTOR, InspectionError, Statistics,
                                                 convolution_filters, node_output, raw_sample, sample_batch,
                                                 top_exciting)
from pytorchgui.core.training.tasks import Cancelled, TaskControl
from tests.data_writers import write_mnist


@pytest.fixture
def lenet5():
    torch.manual_seed(0)
    return compile_network(network_format.load(paths.example_networks_dir() / "lenet5.json")).eval()


@pytest.fixture
def mnist(tmp_path):
    return load_spec(f"MNIST:{write_mnist(tmp_path, train=40, test=10)}")


def test_a_node_output_is_what_its_module_gives_in_a_manual_forward(lenet5, mnist):
    x = sample_batch(mnist, raw_sample(mnist, 3), mnist.normalization)
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    expected = (mnist.inputs[3:4].float() / 255 - mnist.normalization.mean[0]) / mnist.normalization.std[0]
    torch.testing.assert_close(x, expected)
    with torch.no_grad():
        relu1 = lenet5.relu1(lenet5.conv1(x))[0]
    shown = node_output(lenet5, x, "relu1")
    assert shown.kind == FEATURE_MAPS and shown.shape == [6, 28, 28]
    torch.testing.assert_close(shown.values, relu1)
    assert shown.statistics == Statistics.of(relu1)
    assert shown.statistics.minimum == 0 and 0 < shown.statistics.zero_share < 1
    assert shown.statistics.zero_share == pytest.approx(float((relu1 == 0).double().mean()))
    assert "exact zeros" in shown.statistics.describe()
    last = node_output(lenet5, x, "fc3")
    assert last.kind == VECTOR and last.shape == [10]
    torch.testing.assert_close(last.values, lenet5(x)[0])


def test_statistics_of_known_values():
    statistics = Statistics.of(torch.tensor([0.0, 0.0, 1.0, 3.0]))
    assert (statistics.mean, statistics.minimum, statistics.maximum, statistics.zero_share) == (1.0, 0.0, 3.0, 0.5)
    assert statistics.std == pytest.approx(torch.tensor([0.0, 0.0, 1.0, 3.0]).std(unbiased=False).item())


def test_an_unknown_node_is_refused_with_the_names_near_it(lenet5):
    with pytest.raises(InspectionError, match=r"no node 'conv3': did you mean conv2, conv1"):
        node_output(lenet5, torch.zeros(1, 1, 28, 28), "conv3")


def test_the_first_convolution_s_kernels_are_images_normalised_each(lenet5):
    filters = convolution_filters(lenet5)
    assert filters.node == "conv1" and filters.images.shape == (6, 5, 5) and not filters.colour
    for image in filters.images:
        assert image.min() == pytest.approx(0) and image.max() == pytest.approx(1)
    second = convolution_filters(lenet5, "conv2")
    assert second.images.shape == (16, 5, 5) and second.note == "mean over 6 input channels"
    with pytest.raises(InspectionError, match="fc1 is not a convolution: choose one of conv1, conv2"):
        convolution_filters(lenet5, "fc1")


def test_the_samples_that_excite_a_channel_most_are_those_with_the_highest_mean(lenet5, mnist):
    reports = []
    found = top_exciting(lenet5, mnist, mnist.normalization, "conv2", 5, count=4, batch_size=16,
                         control=TaskControl(reports.append))
    x = (mnist.inputs.float() / 255 - mnist.normalization.mean[0]) / mnist.normalization.std[0]
    with torch.no_grad():
        means = lenet5.conv2(lenet5.pool1(lenet5.relu1(lenet5.conv1(x))))[:, 5].mean((1, 2))
    assert found.indices == means.argsort(descending=True)[:4].tolist()
    torch.testing.assert_close(torch.tensor(found.activations), means.sort(descending=True).values[:4])
    assert [(event.done, event.total) for event in reports] == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(InspectionError, match="conv2 has channels 0 to 15, not 16"):
        top_exciting(lenet5, mnist, mnist.normalization, "conv2", 16)
    control = TaskControl()
    control.stop()
    with pytest.raises(Cancelled):
        top_exciting(lenet5, mnist, mnist.normalization, "conv2", 0, control=control)


def test_an_imported_resnet18_shows_its_maps_merges_and_colour_kernels():
    from pytorchgui.core.interop.importers import import_torchvision

    torch.manual_seed(0)
    network = import_torchvision("resnet18").network
    network.set_input([3, 64, 64])
    model = compile_network(network).eval()
    x = torch.randn(1, 3, 64, 64)
    merge = next(name for name in network.nodes if network.node(name).type == "Add")
    shown = node_output(model, x, merge)
    assert shown.kind == FEATURE_MAPS and shown.shape == [64, 16, 16]
    assert node_output(model, x, "avgpool").kind == VECTOR  # [512, 1, 1]: one value per channel
    torch.testing.assert_close(node_output(model, x, "fc").values, model(x)[0])
    filters = convolution_filters(model)
    assert filters.node == "conv1" and filters.colour and filters.images.shape == (64, 7, 7, 3)


def test_attention_nodes_show_their_weights_and_sequences_show_as_matrices():
    from pytorchgui.core.graph.network import Network

    network = Network()
    network.set_input([5, 8])
    network.add_node("LSTM", "lstm", {"input_size": "auto", "hidden_size": 6, "batch_first": True}, first_layer=True)
    network.add_node("MultiheadAttention", "attention", {"embed_dim": "auto", "num_heads": 2, "batch_first": True})
    network.add_node("Flatten", "flatten")
    network.connect("lstm", "attention")
    network.connect("attention", "flatten")
    torch.manual_seed(0)
    model = compile_network(network).eval()
    x = torch.randn(1, 5, 8)
    shown = node_output(model, x, "attention")
    assert shown.kind == ATTENTION and shown.shape == [5, 5]
    torch.testing.assert_close(shown.values.sum(1), torch.ones(5))  # each query's weights sum to 1
    sequence = node_output(model, x, "lstm")  # the LSTM's (output, state): the output the network reads on
    assert sequence.kind == MATRIX and sequence.shape == [5, 6]
    torch.testing.assert_close(sequence.values, model.lstm(x)[0][0])
    torch.testing.assert_close(node_output(model, x, "flatten").values, model(x)[0])  # need_weights left as compiled


def test_a_traced_model_s_function_nodes_are_run_by_the_interpreter():
    from torch import fx

    class Residual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 4)

        def forward(self, x):
            return torch.relu(self.linear(x) + x)

    model = fx.symbolic_trace(Residual())
    x = torch.randn(1, 4)
    added = node_output(model, x, "add")
    torch.testing.assert_close(added.values, (model.linear(x) + x)[0].detach())


def test_a_look_inside_leaves_other_threads_passes_through_the_model_alone():
    # The Inside view looks in the background while the window predicts with the same model
    # (Try it, saliency): its hook stopped the window's pass too ("_Captured" in the GUI thread).
    import threading

    model = compile_network(network_format.load(paths.example_networks_dir() / "lenet5.json")).eval()
    x = torch.randn(1, 1, 28, 28)
    with torch.no_grad():
        expected = model(x)
    passes, problems = [], []
    entered = threading.Event()

    def predict_meanwhile(module, args, output):
        if threading.current_thread() is threading.main_thread() and not passes:
            other = threading.Thread(target=lambda: passes.append(model(x)) if not problems else None)
            entered.set()
            try:
                other.start()
                other.join()
            except BaseException as error:  # noqa: BLE001
                problems.append(error)

    handle = model.conv1.register_forward_hook(predict_meanwhile)
    try:
        shown = node_output(model, x, "conv2")
    finally:
        handle.remove()
    assert entered.is_set() and problems == []
    torch.testing.assert_close(passes[0], expected)  # the other thread's pass ran whole
    assert shown.node == "conv2"
