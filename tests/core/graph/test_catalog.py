"""The catalogue: every entry true to the installed torch, built and run."""
import json
from pathlib import Path

import pytest
import torch

from pytorchgui import paths
from pytorchgui.core.graph.catalog import Catalog, FunctionDatabase, ParameterSpec, default_catalog
from pytorchgui.core.graph.catalog_check import check_catalog, check_entry
from pytorchgui.core.errors import CatalogError, ParameterError, UnknownEntryError

CATALOG = default_catalog()
ENTRIES = [entry for kind in ("layers", "activations", "losses", "optimizers") for entry in CATALOG.database(kind)]


def sample_input(entry, generator):
    shape = entry.example["input_shape"]
    if entry.example.get("input_dtype") == "int64":
        return torch.randint(0, 10, shape, generator=generator)
    return torch.randn(shape, generator=generator)


def run_forward(entry, module, x):
    if entry.name.startswith("MaxUnpool"):
        dims = int(entry.name[-2])
        pool = getattr(torch.nn, f"MaxPool{dims}d")(kernel_size=2, return_indices=True)
        values, indices = pool(x)
        return module(values, indices)
    if "branches" in entry.example:  # inputs of their own kinds (class indices, updates): made from x as said
        return module(*[CATALOG.layers.get(kind).build(values)(x) for kind, values in entry.example["branches"]])
    if entry.inputs in (2, 3):  # Bilinear, merges, MatMul, arithmetic; attention's query, key, value
        return module(*[x] + [x.clone() for _ in range(entry.inputs - 1)])
    if entry.call == "self_attention":
        return module(x, x, x)[entry.output_index]
    output = module(x)
    return output[entry.output_index] if entry.output_index is not None else output


def loss_arguments(entry, generator):
    """Inputs and targets of the kinds the entry's LossInfo promises."""
    info = entry.loss
    shape = entry.example["input_shape"]
    x = torch.randn(shape, generator=generator, requires_grad=True)
    if info.call == "pair":
        return x, torch.randn(shape, generator=generator), torch.ones(shape[0])
    if info.call == "triplet":
        return x, torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)
    if info.call == "sequence":  # CTC: (T, N, C) log-probabilities
        steps, batch, classes = shape
        log_probs = x.log_softmax(2)
        targets = torch.randint(1, classes, (batch, 3), generator=generator)
        return log_probs, targets, torch.full((batch,), steps), torch.full((batch,), 3)
    if info.call == "input_target_variance":
        return x, torch.randn(shape, generator=generator), torch.ones(shape)
    assert info.call == "input_target"
    if info.input == "log_probabilities":
        x = x.log_softmax(1)
    elif info.input == "probabilities":
        x = x.sigmoid()
    classes = shape[1]
    target = {
        "class_indices": lambda: torch.randint(0, classes, (shape[0],), generator=generator),
        "probabilities": lambda: torch.rand(shape, generator=generator).softmax(1),
        "same_shape": lambda: torch.randn(shape, generator=generator).abs(),
        "plus_minus_one": lambda: torch.randint(0, 2, shape, generator=generator).float() * 2 - 1,
        "multi_hot": lambda: torch.randint(0, 2, shape, generator=generator).float(),
        "multilabel_indices": lambda: torch.tensor([[1, 3, -1, 0, 0]] * shape[0]),
    }[info.target]()
    return x, target


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.kind}-{e.name}")
def test_entry_matches_torch_signature(entry):
    assert check_entry(entry) == []


def test_whole_catalogue_is_true_to_torch():
    assert check_catalog(CATALOG) == []


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if e.kind in ("layers", "activations")], ids=lambda e: e.name
)
def test_layer_or_activation_builds_with_defaults_and_runs(entry):
    generator = torch.Generator().manual_seed(0)
    module = entry.build(entry.example.get("parameters", {}))
    assert isinstance(module, torch.nn.Module)
    x = sample_input(entry, generator)
    output = run_forward(entry, module.eval(), x)
    assert isinstance(output, torch.Tensor)
    assert output.numel() > 0
    if entry.same_shape:
        assert output.shape == x.shape and output.dtype == x.dtype


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")  # KLDivLoss's torch default
@pytest.mark.parametrize("entry", list(CATALOG.losses), ids=lambda e: e.name)
def test_loss_builds_and_gives_a_scalar_with_the_recorded_target(entry):
    generator = torch.Generator().manual_seed(0)
    loss = entry.build({})
    arguments = loss_arguments(entry, generator)
    value = loss(*arguments)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()


@pytest.mark.parametrize("entry", list(CATALOG.optimizers), ids=lambda e: e.name)
def test_optimizer_takes_a_step(entry):
    torch.manual_seed(0)
    if entry.name == "SparseAdam":
        model = torch.nn.Embedding(10, 3, sparse=True)
        inputs = torch.tensor([1, 2, 3])
    else:  # Muon takes only 2-D parameters, hence no bias
        model = torch.nn.Linear(4, 3, bias=False)
        inputs = torch.randn(5, 4)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = entry.build_optimizer(model.parameters(), {})

    def closure():
        optimizer.zero_grad()
        loss = model(inputs).pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


def test_catalogue_covers_the_original_design_and_the_issue():
    for name in ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Unfold",
                 "Fold", "MaxPool2d", "AvgPool3d", "LPPool1d", "AdaptiveMaxPool2d", "FractionalMaxPool2d",
                 "MaxUnpool2d", "Dropout", "Dropout2d", "Dropout3d", "AlphaDropout", "Linear", "Bilinear",
                 "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d", "LocalResponseNorm", "Embedding",
                 "Flatten", "Unflatten", "Identity", "Upsample", "PixelShuffle", "ZeroPad2d", "ConstantPad2d",
                 "ReflectionPad2d", "ReplicationPad2d", "RNN", "LSTM", "GRU", "TransformerEncoderLayer",
                 "Add", "Concatenate", "Multiply", "Mean"]:
        assert name in CATALOG.layers, name
    assert len(CATALOG.activations) >= 27
    original_losses = ["L1Loss", "MSELoss", "CrossEntropyLoss", "CTCLoss", "NLLLoss", "PoissonNLLLoss", "KLDivLoss",
                       "BCELoss", "BCEWithLogitsLoss", "MarginRankingLoss", "HingeEmbeddingLoss",
                       "MultiLabelMarginLoss", "SmoothL1Loss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
                       "CosineEmbeddingLoss", "MultiMarginLoss", "TripletMarginLoss"]
    assert all(name in CATALOG.losses for name in original_losses)
    for name in ["Adadelta", "Adagrad", "Adam", "SparseAdam", "Adamax", "ASGD", "LBFGS", "RMSprop", "Rprop", "SGD",
                 "AdamW", "NAdam", "RAdam"]:
        assert name in CATALOG.optimizers


def test_order_and_categories_follow_the_file():
    raw = json.loads((paths.function_db_dir() / "layers.json").read_text())
    operations = json.loads((paths.function_db_dir() / "tensor_ops.json").read_text())
    assert CATALOG.layers.names() == list(raw) + list(operations)  # layers first, then tensor operations
    assert [e.name for e in CATALOG.layers if e.tensor_operation] == list(operations)
    groups = CATALOG.layers.categories()
    assert [e.name for e in groups["merge"]] == ["Add", "Concatenate", "Multiply", "Mean"]
    assert CATALOG.node_entry("ReLU").node_class == "activation_function"
    assert CATALOG.node_entry("Add").node_class == "merge"
    assert CATALOG.node_entry("Conv2d").node_class == "layer"


def test_legacy_function_database_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the file is found from the test's own folder, wherever pytest runs
    database = FunctionDatabase.from_file(Path(__file__).parents[2] / "data" / "legacy_function_db_example.json",
                                          "layers")
    conv = database.get("Conv1d")
    assert [spec.name for spec in conv.parameters][:3] == ["in_channels", "out_channels", "kernel_size"]
    assert conv.parameter("in_channels").type == "int" and conv.parameter("in_channels").required
    assert conv.parameter("bias").type == "bool" and conv.parameter("bias").default is True
    adam = database.get("Adam")
    assert adam.parameter("lr").type == "float" and adam.parameter("lr").default == 0.001
    module = conv.build({"in_channels": 2, "out_channels": 3, "kernel_size": 3})
    assert isinstance(module, torch.nn.Conv1d)


def test_validation_names_entry_parameter_and_value():
    conv = CATALOG.layers.get("Conv2d")
    with pytest.raises(ParameterError, match=r"Conv2d parameter 'kernel_size' must be an integer or a list") as caught:
        conv.validate({"in_channels": 1, "out_channels": 2, "kernel_size": "three"})
    assert caught.value.parameter == "kernel_size"
    with pytest.raises(ParameterError, match=r"Conv2d has no parameter 'kernel'"):
        conv.validate({"kernel": 3})
    with pytest.raises(ParameterError, match=r"'out_channels' must be >= 1"):
        conv.validate({"in_channels": 1, "out_channels": 0, "kernel_size": 3})
    with pytest.raises(ParameterError, match=r"'p' must be <= 1"):
        CATALOG.layers.get("Dropout").validate({"p": 1.5})
    with pytest.raises(ParameterError, match=r"one of 'mean', 'sum', 'none'"):
        CATALOG.losses.get("MSELoss").validate({"reduction": "average"})
    with pytest.raises(ParameterError, match=r"true or false"):
        CATALOG.layers.get("Linear").validate({"in_features": 2, "out_features": 2, "bias": 1})
    with pytest.raises(ParameterError, match=r"'kernel_size' must be set"):
        conv.validate({"in_channels": 1, "out_channels": 2})


def test_validation_normalises_and_fills_defaults():
    conv = CATALOG.layers.get("Conv2d")
    values = conv.validate({"in_channels": "auto", "out_channels": 6.0, "kernel_size": (5, 5), "padding": "same"})
    assert values["in_channels"] == "auto" and values["out_channels"] == 6 and values["kernel_size"] == [5, 5]
    assert values["padding"] == "same" and values["stride"] == 1 and values["padding_mode"] == "zeros"
    incomplete = conv.validate({"out_channels": 6}, complete=False)
    assert incomplete["in_channels"] is None and incomplete["kernel_size"] is None
    adam = CATALOG.optimizers.get("Adam")
    with pytest.raises(ParameterError, match="list of 2 numbers"):
        adam.validate({"betas": [0.9]})
    with pytest.raises(ParameterError, match="list of 2 numbers"):  # found by the fuzzer: torch unpacks the pair
        adam.validate({"betas": 0.9})
    assert adam.validate({"betas": [0.5, 0.9]})["betas"] == [0.5, 0.9]
    with pytest.raises(ParameterError, match="a number"):
        adam.validate({"lr": float("nan")})


def test_constructor_arguments_refuse_unresolved_auto():
    with pytest.raises(ParameterError, match="still 'auto'"):
        CATALOG.layers.get("Linear").build({"in_features": "auto", "out_features": 3})


def test_unknown_names_are_clear_errors():
    with pytest.raises(UnknownEntryError, match="'Conv4d' is not in the layers catalogue"):
        CATALOG.layers.get("Conv4d")
    with pytest.raises(UnknownEntryError, match="not a layer or activation"):
        CATALOG.node_entry("MSELoss")


def test_files_cannot_name_code_outside_torch(tmp_path):
    (tmp_path / "layers.json").write_text(json.dumps({"Popen": {"category": "x", "parameters": {}}}))
    database = FunctionDatabase.from_file(tmp_path / "layers.json", "layers")
    with pytest.raises(UnknownEntryError, match="not a class of torch.nn"):
        database.get("Popen").resolve()
    (tmp_path / "bad.json").write_text(json.dumps({"os.system": {"parameters": {}}}))
    with pytest.raises(CatalogError, match="is not a class name"):
        FunctionDatabase.from_file(tmp_path / "bad.json", "layers")
    (tmp_path / "functional.json").write_text(json.dumps({"functional": {"parameters": {}}}))
    with pytest.raises(UnknownEntryError):
        FunctionDatabase.from_file(tmp_path / "functional.json", "layers").get("functional").resolve()


@pytest.mark.parametrize(
    "document, message",
    [
        ("{not json", "cannot read function database"),
        ("[]", "root must be an object"),
        ('{"Linear": {"parameters": {"x": {"type": "tensor"}}}}', "has type 'tensor'"),
        ('{"Linear": {"parameters": {"x": {"type": "choice", "default": 1}}}}', "choice without choices"),
        ('{"Linear": {"parameters": {"x": {"type": "int", "default": "a"}}}}', "default of Linear.x is invalid"),
        ('{"Linear": {"parameters": {"x": {"type": "int", "default": 1, "colour": 2}}}}', "unknown keys"),
    ],
)
def test_malformed_database_files_name_the_problem(tmp_path, document, message):
    path = tmp_path / "layers.json"
    path.write_text(document)
    with pytest.raises(CatalogError, match=message):
        FunctionDatabase.from_file(path, "layers")


def test_duplicate_entries_are_refused():
    entry = CATALOG.layers.get("Linear")
    with pytest.raises(CatalogError, match="listed twice"):
        FunctionDatabase("layers", [entry, entry])


def test_check_catches_a_wrong_default(tmp_path):
    for kind in ("layers", "activations", "losses", "optimizers"):
        (tmp_path / f"{kind}.json").write_text((paths.function_db_dir() / f"{kind}.json").read_text())
    raw = json.loads((tmp_path / "activations.json").read_text())
    raw["LeakyReLU"]["parameters"]["negative_slope"]["default"] = 0.2
    del raw["ELU"]
    (tmp_path / "activations.json").write_text(json.dumps(raw))
    problems = check_catalog(Catalog.from_folder(tmp_path))
    assert "LeakyReLU.negative_slope: default 0.2 but torch has 0.01" in problems
    assert "activations: torch has ELU, the catalogue neither lists nor excludes it" in problems


def test_parameter_spec_size_with_choices_and_nullable_items():
    spec = ParameterSpec(name="output_size", type="size", nullable=True, minimum=1)
    assert spec.validate([None, 7]) == [None, 7]
    assert spec.validate(None) is None
    with pytest.raises(ParameterError):
        spec.validate([0, 7])


def test_descriptions_read_as_plain_text_not_restructuredtext():
    # The inspector showed Linear as "… incoming data: :math:`y = xA^T + b`." (torch's docstring markup).
    import re

    markup = re.compile(r":[a-z]+:`|`")
    for path in paths.function_db_dir().glob("*.json"):
        for name, entry in json.loads(path.read_text()).items():
            for field in ("description", "notes"):
                assert not markup.search(entry.get(field) or ""), f"{path.name}: {name}.{field}"
