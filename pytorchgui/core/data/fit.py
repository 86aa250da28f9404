"""Fit a network to a dataset: its input shape, the fixed input sizes of its layers, the
output size of its last Linear (classes, or regression targets) and a loss that can learn
the data's task."""
from __future__ import annotations

from pytorchgui.core.graph.catalog import AUTO
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes

# What a network set up for classes (the templates) gets for a regression target: a loss
# that compares values, and, for SGD, an optimizer that adapts its steps. On a squared error
# the step SGD may take shrinks with the width of the last hidden layer: the MLP template's
# SGD at lr 0.05 (set for MNIST's classes) diverges on any standardised regression target,
# where Adam at 0.001 trains (scikit-learn's diabetes: R² 0.45 on a 20 % validation split).
REGRESSION_LOSS = "MSELoss"
REGRESSION_OPTIMIZER = ("Adam", {"lr": 0.001})

# A layer's parameter that must equal a dimension of its input: the channel axis (index 0)
# for convolutions and normalisation, the feature axis (last) for the others.
INPUT_SIZE_PARAMETERS = {"in_channels": 0, "num_features": 0, "in_features": -1, "input_size": -1}


def fit_to_dataset(network: Network, sample_shape: list[int], outputs: int | None = None,
                   dtype: str = "float32", tokens: int | None = None) -> list[str]:
    """Set the input shape and dtype, every fixed input size that no longer matches what
    reaches its layer (LeNet-5's conv1 and fc1 on 3 x 32 x 32 images), for token ids the
    first Embedding's num_embeddings (`tokens`: the largest id + 1) and, for
    classification, the last Linear's out_features: `outputs`, the class count or the
    regression targets per sample. Returns what changed, in words."""
    changes = []
    old = network.input_spec
    if old is None or old.shape != list(sample_shape):
        changes.append(f"input shape {old.shape if old else None} -> {list(sample_shape)}")
    if old is not None and old.dtype != dtype:
        changes.append(f"input dtype {old.dtype} -> {dtype}")
    if old is None or old.shape != list(sample_shape) or old.dtype != dtype:
        network.set_input(list(sample_shape), dtype)
    embedding = first_embedding(network) if tokens else None
    if embedding is not None:
        size = network.node(embedding).parameters.get("num_embeddings")
        if not isinstance(size, int) or size < tokens:
            changes += _set_parameters(network, embedding, {"num_embeddings": tokens})
    if dtype == "int64" or len(sample_shape) == 2:  # sequences: positions for every time step
        for name in [name for name, node in network.nodes.items() if node.type == "PositionalEmbedding"]:
            length = network.node(name).parameters.get("max_length")
            if isinstance(length, int) and length < sample_shape[0]:
                changes += _set_parameters(network, name, {"max_length": sample_shape[0]})
    changes += fit_input_sizes(network)
    if outputs:
        linears = [name for name in network.topological_order() if network.node(name).type == "Linear"]
        if linears:
            changes += _set_parameters(network, linears[-1], {"out_features": outputs})
    return changes


def fit_to_data(network: Network, dataset) -> list[str]:
    """fit_to_dataset with everything a dataset says: shape, dtype, token ids, outputs,
    and the task (a regression target gets a loss for values)."""
    # Imported here: samples loads torch, and fit is loaded at start-up (by the workspace) without it.
    from pytorchgui.core.data.samples import input_dtype

    tokenizer = getattr(dataset, "tokenizer", None)
    # text: every id of the vocabulary (a test set, or a text typed in Try it, may hold ids
    # its own rows do not); token ids from an array: the largest one + 1
    tokens = len(tokenizer.vocabulary) if tokenizer is not None else getattr(dataset, "token_count", None)
    changes = fit_to_dataset(network, dataset.sample_shape, dataset.output_size, input_dtype(dataset), tokens)
    return changes + _fit_task(network, dataset)


def unfit_reason(network: Network, dataset) -> str:
    """Why the network still cannot take `dataset` after fitting, with the template that
    can ("" when it fits): fitting sets sizes, it does not change the kind of layers (LeNet-5's
    convolutions cannot take the 10 columns of a table)."""
    problems = infer_shapes(network).problems
    if not problems:
        return ""
    from pytorchgui.core.data.samples import input_dtype  # torch: not loaded at start-up

    axes = len(dataset.sample_shape)
    if input_dtype(dataset) == "int64":
        kind, templates = "token ids", "lstm_sequences or transformer_sequences (they start with an Embedding)"
    elif axes == 1:
        kind, templates = "a table's columns", "mlp (Linear layers)"
    elif axes == 2:
        kind, templates = "series of feature vectors", "lstm_series"
    else:
        kind, templates = "images", "lenet5 or small_cnn"
    found = problems[0].message.split(": ")[0].rstrip(".")  # what is wrong, not the advice for other cases
    return (f"its layers cannot take {kind} ({found}): start from the template {templates} in the Network "
            f"tab's palette (Templates), then fit again")


def _fit_task(network: Network, dataset) -> list[str]:
    """MSELoss for a numeric target when the network's loss is one for classes (the
    templates' CrossEntropyLoss) or unset, and Adam for its SGD; a loss for values the user
    chose is kept, with its optimizer. A classifier's loss is left alone: every loss of one
    input can train on classes."""
    if dataset.is_classification:
        return []
    old = network.loss.type if network.loss is not None else None
    if old is not None:
        info = network.catalog.losses.get(old).loss
        if info.takes_one_input and info.target == "same_shape":
            return []
    network.set_loss(REGRESSION_LOSS)
    reason = f"{old} is for class labels" if old else "the network had no loss"
    changes = [f"loss {old} -> {REGRESSION_LOSS}: {dataset.name} has a numeric target (regression), and {reason}"]
    optimizer = network.optimizer
    if optimizer is not None and optimizer.type == "SGD":
        name, values = REGRESSION_OPTIMIZER
        network.set_optimizer(name, values)
        changes.append(f"optimizer SGD (lr {optimizer.parameters.get('lr')}) -> {name} (lr {values['lr']}): SGD at a "
                       "rate set for classes diverges on a squared error")
    return changes


def first_embedding(network: Network) -> str | None:
    """The Embedding that token ids reach first, if the network has one."""
    return next((name for name in network.topological_order() if network.node(name).type == "Embedding"), None)


def fit_input_sizes(network: Network) -> list[str]:
    """Set fixed input sizes to the sizes that reach them, node after node: a node after
    a mismatch only gets its input shape once the mismatch is fixed."""
    changes: list[str] = []
    for _ in range(len(network.nodes)):
        report = infer_shapes(network)
        fixed = []
        for name in report.order:
            known = report.nodes.get(name)
            shape = known.input_shapes[0] if known is not None and known.input_shapes else None
            parameters = network.node(name).parameters
            wanted = {parameter: shape[axis] for parameter, axis in INPUT_SIZE_PARAMETERS.items()
                      if shape and parameter in parameters and parameters[parameter] not in (AUTO, None)}
            fixed += _set_parameters(network, name, wanted)
        if not fixed:
            break
        changes += fixed
    return changes


def _set_parameters(network: Network, name: str, wanted: dict[str, int]) -> list[str]:
    parameters = dict(network.node(name).parameters)
    changes = [f"'{name}' {key} {parameters.get(key)} -> {value}" for key, value in wanted.items()
               if parameters.get(key) != value]
    if changes:
        parameters.update(wanted)
        network.set_parameters(name, parameters)
    return changes


def freeze_all_but_last(network: Network) -> list[str]:
    """Fine-tuning's usual start: every node with weights frozen but the last one (the
    classifier, in network order of computation); returns the nodes frozen."""
    report = infer_shapes(network)
    weighted = [name for name in report.order if report.nodes[name].parameter_count]
    frozen = weighted[:-1]
    for name in network.nodes:
        network.set_trainable(name, name not in frozen)
    return frozen
