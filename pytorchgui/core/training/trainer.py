"""The training engine: a plain loop with events, a cancel and a pause flag, checkpoints.

It knows nothing of Qt: the Train tab runs `Trainer.run` on a QThread and turns its
events into signals; the CLI runs it in the terminal. Every random choice (weight
initialisation, shuffling, augmentation, dropout) comes from seeded generators whose
states are saved in each epoch's checkpoint, so on the CPU a run resumed at epoch k ends
with the same weights, bit for bit, as a run that was never interrupted.

Its parts that other modules use without training live beside it: the loss and its
targets in `losses`, devices and thread counts in `devices`, the torchrun set-up in
`distributed`, and whether a network trains in channels_last in `graph.compiler`.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch.nn.parallel import DistributedDataParallel

from pytorchgui.core.data.augmentation import Mix
from pytorchgui.core.data.datasets import InMemoryBatches, batches_for
from pytorchgui.core.data.fit import first_embedding
from pytorchgui.core.data.matching import ExpectedData
from pytorchgui.core.data.named_inputs import NamedInputBatches, NamedInputsDataset, batch_length
from pytorchgui.core.data.samples import Normalization, TargetNormalization, TensorDataset, input_dtype
from pytorchgui.core.data.drawing import dataset_style
from pytorchgui.core.data.sequences import with_tokenizer
from pytorchgui.core.errors import PyTorchGUIError, TrainingError, first_line
from pytorchgui.core.graph.compiler import (compile_network, failing_node, forward_inputs, module_names,
                                            uses_channels_last)
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes, step_problems
from pytorchgui.core.safe_load import load_state_dict
from pytorchgui.core.training.histories import (LayerHistories, LayerRecorder, LayerWarning, describe_warnings,
                                                   layer_warnings)
from pytorchgui.core.training.devices import LARGE_STEP_SECONDS, is_out_of_memory, sum_dtype, training_threads
from pytorchgui.core.training.distributed import all_reduce, distributed_context, leave_process_group
from pytorchgui.core.training.losses import LossAdapter, OutputLosses, make_loss
from pytorchgui.core.training.memory import available_memory, data_moved_to, does_not_fit, estimate_training_memory
from pytorchgui.core.training.optimizers import apply_settings, describe_groups, make_optimizer
from pytorchgui.core.training.options import TrainingConfig
from pytorchgui.core.training.runs import (RunFolder, list_runs, load_checkpoint, normalization_dict, read_metrics,
                                           split_dict)
from pytorchgui.core.training.tasks import Cancelled, LogEvent, TaskControl
from pytorchgui.core.training.tensorboard_log import TensorBoardLog
from pytorchgui.core.wording import counted

# The names this module has always offered; the objects now live with their one owner.
__all__ = ["BatchEvent", "EpochEvent", "LayersRecordedEvent", "LogEvent", "SettingsChangedEvent", "Trainer", "TrainingConfig",
           "TrainingControl", "TrainingError", "TrainingResult", "list_runs", "load_checkpoint", "read_metrics"]
TrainingControl = TaskControl


# How often a run reads its running figures from the device and reports them. Reading a
# figure waits for the device to finish every queued step, so a GPU run that read the loss
# after each batch would idle between batches; the GUI draws at a slower pace anyway.
REPORT_SECONDS = 0.1

RETIMINGS = 3  # at most, of every core's step time while the first timings say 1 thread is as fast
RETIMED_STEP_SECONDS = 0.04  # longer steps are not timed again (LeNet-5's takes 0.01 s on 2 cores)

# What to do about validation data that does not match the training set, wherever the run was started.
VALIDATION_REMEDY = ("choose validation data like the training set (Validation in the Train tab, --test or --val-split "
                     "on the command line)")


@dataclass
class BatchEvent:
    """Progress up to `batch` (1-based) of `epoch`: `losses` holds every batch's loss
    since the previous event, the last of them is `loss`."""

    epoch: int
    batch: int
    batches: int
    loss: float
    accuracy: float | None
    samples_per_second: float
    losses: tuple[float, ...] = ()


@dataclass
class EpochEvent:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float | None
    validation_loss: float | None
    validation_accuracy: float | None
    learning_rate: float
    seconds: float
    # several outputs: each one's loss, "train_loss.NODE" and "validation_loss.NODE" (the
    # history and metrics.csv hold them as columns of their own)
    output_losses: dict[str, float] = field(default_factory=dict)

    def history_row(self) -> dict[str, Any]:
        row = asdict(self)
        return {**{key: value for key, value in row.items() if key != "output_losses"}, **self.output_losses}


@dataclass
class LayersRecordedEvent:
    """The weight and gradient histories up to `epoch` (sent after its EpochEvent), and
    what is wrong with the layers at that epoch."""

    epoch: int
    histories: LayerHistories
    warnings: list[LayerWarning]


@dataclass
class SettingsChangedEvent:
    """Optimizer hyper-parameters changed while the run was paused, taking effect before
    `batch` (0-based) of `epoch`."""

    epoch: int
    batch: int
    batches: int
    changes: dict[str, Any]


@dataclass
class TrainingResult:
    status: str  # finished, stopped, early_stopped
    epochs_done: int
    history: list[dict[str, Any]]
    run_dir: Path | None
    message: str = ""
    model: Any = None
    normalization: Normalization | None = None
    config: TrainingConfig | None = None
    target_normalization: TargetNormalization | None = None  # the model's outputs are in these standardised units


# -- frozen nodes that would never learn -------------------------------------------------------
def frozen_at_random(network: Network, initial_weights: str = "") -> list[str]:
    """The frozen nodes with weights that nothing sets before training, in the order of
    computation: they keep the random values they are built with, never learn, and the
    layers after them learn from noise. `initial_weights` is the file a run starts from
    (Start from weights, --initial-weights): its tensors that fit count as set."""
    if all(node.trainable for node in network.nodes.values()):
        return []  # nothing frozen: no need to build the network
    model = compile_network(network)
    loaded = set(fitting_tensors(model, load_state_dict(Path(initial_weights), TrainingError))) \
        if initial_weights else set()
    return _frozen_and_unset(network, model, loaded)


def _frozen_and_unset(network: Network, model: torch.nn.Module, loaded: set[str]) -> list[str]:
    attributes = module_names(network)
    unset = []
    for name in network.topological_order():
        module = getattr(model, attributes[name], None)
        if network.node(name).trainable or module is None:
            continue
        keys = [f"{attributes[name]}.{key}" for key, _ in module.named_parameters()]
        if keys and not loaded.issuperset(keys):
            unset.append(name)
    return unset


def fitting_tensors(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of a weights file whose names and shapes fit `model`."""
    own = model.state_dict()
    return {key: value for key, value in state.items() if key in own and own[key].shape == value.shape}


def frozen_at_random_warning(nodes: list[str], initial_weights: str = "") -> str:
    """What `frozen_at_random` found, and how to give those nodes trained weights."""
    shown = ", ".join(nodes[:3]) + (f" and {len(nodes) - 3} more" if len(nodes) > 3 else "")
    if len(nodes) > 1:
        who, they, them, start, learn = f"{len(nodes)} frozen nodes ({shown}) keep", "they", "them", "start", "learn"
    else:
        who, they, them, start, learn = f"the frozen node {shown} keeps", "it", "it", "starts", "learns"
    found = f"{who} the random values {they} {start} with"
    if initial_weights:
        return (f"{found}: {Path(initial_weights).name} has no tensor that fits {them}, so {they} never {learn}. "
                f"Unfreeze {them}, or give the data the shape the weights were made for (3 channels for ImageNet's)")
    return (f"{found}: no trained weights are loaded into {them}, so {they} never {learn} and the layers after "
            f"{them} learn from noise (a classifier trained so stays near chance). Give {them} trained weights: "
            "import the model with them (File > Import model (torchvision, timm)…, tick its pretrained weights "
            "when online; pytorchgui import --pretrained), or start from a weights file (Train tab, Start "
            f"from weights; --initial-weights); or unfreeze {them} (right-click the canvas, Unfreeze all)")


# -- the engine ------------------------------------------------------------------------------
def correct_count(output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """How many of the batch's predictions are right, as a tensor on the batch's device (read
    it where a figure is needed: reading waits for the device)."""
    return (output.argmax(1) == targets).sum()


def _drawing_style_dict(dataset) -> dict[str, Any] | None:
    """How the training images draw, for the Try-it pad (None for other data)."""
    style = dataset_style(dataset)
    return style.to_dict() if style is not None else None


def describe_source(dataset) -> str | None:
    """The spec of the source a dataset was read from, for config.json and the CLI."""
    origin = getattr(dataset, "origin", None)
    return origin.to_spec() if origin is not None else None


@dataclass
class _RunState:
    """Everything one run builds before its first epoch, and what changes epoch by epoch."""

    model: torch.nn.Module  # what is stepped: the network or its DDP wrapper
    trained: torch.nn.Module  # what is saved and returned
    optimizer: torch.optim.Optimizer
    scheduler: Any
    loss: LossAdapter
    normalization: Normalization
    train: Any
    validation: Any
    generator: torch.Generator
    steps: int
    autocast: Any
    start_epoch: int = 1
    cpu_threads: int = 0  # the resumed run's thread count: another would change the sums' rounding
    best: float = math.inf
    best_kept: float | None = None  # the keep_best_by figure of the best weights kept so far
    patience_left: int = 0
    epoch: int = 0
    recorder: LayerRecorder | None = None  # the layers' histories, when recorded
    epoch_parts: list[float] | None = None  # several outputs: each one's mean training loss this epoch


class Trainer:
    """Train `network` on `train_set` (and evaluate `validation_set` after each epoch).

    Events (BatchEvent, EpochEvent, LogEvent) go to `on_event`; `control` pauses and stops
    the run between batches. The caller's network and config are not changed.
    """

    def __init__(self, network: Network, train_set: TensorDataset, config: TrainingConfig, *,
                 validation_set: TensorDataset | None = None, run_dir: Path | RunFolder | None = None,
                 on_event: Callable[[Any], None] | None = None, control: TaskControl | None = None,
                 resume_from: str | os.PathLike | None = None, report_seconds: float = REPORT_SECONDS,
                 record_layers: bool = True, measured_output: str | None = None,
                 keep_best_by: tuple[str, bool] | None = None):
        """`record_layers`: keep the weight and gradient histories (histories.py).
        `measured_output`: of a network with several outputs, the one whose accuracy is
        measured (None: the first); every output's loss counts in training.
        `keep_best_by`: (an EpochEvent figure, whether higher is better) choosing the epoch
        whose weights are best_weights.pt, as a sweep's objective does, so that a trial's
        best weights measure what its objective said; None: the lowest monitored loss."""
        self.measured_output = measured_output
        self.keep_best_by = keep_best_by
        config.check()
        self.report_seconds = report_seconds  # 0: an event after every batch
        self.network, self.train_set, self.validation_set = network, train_set, validation_set
        self.config = config
        self.folder = run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir) if run_dir else None
        self.on_event = on_event or (lambda event: None)
        self.control = control or TaskControl()
        self.resume_from = resume_from
        self.context = distributed_context(config.device)
        device = config.device
        if self.context.active and device.startswith("cuda"):
            device = f"cuda:{self.context.local_rank}"
        self.device = torch.device(device)
        # Reading the loss on the host costs nothing on the CPU, where every op has finished
        # when it returns; on a GPU it waits for the queued work (see _step).
        self.check_each_step = self.device.type == "cpu"
        if not self.context.main:  # only rank 0 reports and writes the run folder
            self.folder, self.on_event = None, (lambda event: None)
        self.history: list[dict[str, Any]] = []
        self.settings_changes: list[dict[str, Any]] = []  # hyper-parameters changed while paused, in order
        self.record_layers = record_layers and self.context.main  # the ranks' gradients are the same
        self.layer_histories: LayerHistories | None = None
        self.warned: set[tuple[str, str]] = set()  # (layer, kind) said in the log already
        self.tensorboard = TensorBoardLog()  # opened with the run folder

    @property
    def run_dir(self) -> Path | None:
        return self.folder.path if self.folder is not None else None

    def log(self, message: str) -> None:
        self.on_event(LogEvent(message))

    # -- the steps of a run ----------------------------------------------------------------
    def run(self) -> TrainingResult:
        """Check, build, restore, train epoch by epoch; every way out writes summary.json
        (once the run folder exists) and leaves the process group."""
        status, message, state = "failed", "", None
        try:
            if self.validation_set is not None:  # text validation data must use the training vocabulary
                tokenizer = getattr(self.train_set, "tokenizer", None)
                aligned = with_tokenizer(self.validation_set, tokenizer)
                if aligned is not self.validation_set:
                    self.log(f"{aligned.name}: read again with the training set's vocabulary ({tokenizer.describe()})")
                self.validation_set = aligned
            self._check_data()
            state = self._build()
            if self.resume_from is not None:
                self._restore(state)
            self._choose_threads(state)
            self._start_run_folder(state)
            state.recorder = self._layer_recorder(state)
            status, message = self._train_epochs(state)
        except Cancelled:
            status, message = "stopped", f"stopped during epoch {state.epoch}"
            state.epoch -= 1
        except Exception as error:
            message = first_line(error)
            if not is_out_of_memory(error):
                raise
            state = None  # free the model and the optimizer before reporting
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            where = "the GPU" if isinstance(error, torch.cuda.OutOfMemoryError) else "memory"
            message = (f"{where} ran out of memory at batch size {self.config.batch_size}: try "
                       f"{max(1, self.config.batch_size // 2)}"
                       + (", or train on the CPU" if where == "the GPU" else ", or a smaller network"))
            raise TrainingError(message) from None
        finally:
            self._finish(status, message)
        return TrainingResult(status, state.epoch, self.history, self.run_dir, message, state.trained,
                              state.normalization, self.config, state.loss.target_normalization)

    def _check_data(self) -> None:
        spec = self.network.input_spec
        if len(self.network.inputs) > 1 or isinstance(self.train_set, NamedInputsDataset):
            self._check_named_inputs()
        elif spec is None or list(spec.shape) != list(self.train_set.sample_shape):
            raise TrainingError(f"the network takes input of shape {spec.shape if spec else 'unset'} but "
                                f"{self.train_set.name} has samples of shape {self.train_set.sample_shape}: press "
                                "'Fit network to data' in the Data tab (--fit on the command line)")
        if self.validation_set is not None:  # of another shape it fails, with other classes it scores nonsense
            problem = ExpectedData.of_training_set(self.train_set, VALIDATION_REMEDY).problem(self.validation_set)
            if problem:
                raise TrainingError(problem)
        if self.network.optimizer is None:
            raise TrainingError("the network has no optimizer: choose one in the Network tab (\"$optimizer\" in "
                                "the network file)")
        if self.train_set.is_classification and self.train_set.num_classes < 2:
            raise TrainingError(f"{self.train_set.name} has one class only ({', '.join(self.train_set.classes)}): a "
                                "classifier learns nothing from it; add the other classes (a sub-folder each)")
        if self.config.early_stopping_patience and self.validation_set is None:
            raise TrainingError("early stopping watches the validation loss, but there is no validation data: "
                                "choose validation data (Validation in the Train tab, --test or --val-split on the "
                                "command line) or turn early stopping off")
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise TrainingError(f"device {self.config.device} is not available: no CUDA GPU found; train on the CPU")
        if isinstance(self.train_set, NamedInputsDataset):
            if self.config.pipeline():
                raise TrainingError(f"augmentation works on one input, and {self.train_set.name} feeds "
                                    f"{len(self.network.inputs)}: turn augmentation off (Train tab, --augment none)")
        else:
            self.config.pipeline().check_data(self.train_set.kind, self.train_set.sample_shape, self.train_set.name)
        wanted_dtype = input_dtype(self.train_set) if not isinstance(self.train_set, NamedInputsDataset) else None
        if spec is not None and wanted_dtype is not None and spec.dtype != wanted_dtype:
            raise TrainingError(f"the network takes {spec.dtype} input but {self.train_set.name} holds "
                                f"{wanted_dtype} {'token ids' if wanted_dtype == 'int64' else 'values'}: press "
                                "'Fit network to data' in the Data tab (--fit on the command line)")
        self._check_token_ids()
        self._check_network_fits()

    def _check_named_inputs(self) -> None:
        """Each input of the network finds its tensor in the data, of its shape and dtype."""
        data = self.train_set
        names = [spec.name for spec in self.network.inputs]
        if not isinstance(data, NamedInputsDataset):
            raise TrainingError(f"the network takes {len(names)} inputs ({', '.join(names)}) but {data.name} gives "
                                "one: give an .npz file with one array per input, named after it, or a CSV table with "
                                "columns per input (NAME.0, NAME.1, ...)")
        for spec in self.network.inputs:
            if spec.name not in data.inputs:
                raise TrainingError(f"{data.name} has no values for the input '{spec.name}' (it has "
                                    f"{', '.join(data.inputs)}): name an array or columns after it")
            shape = data.input_shapes[spec.name]
            if list(spec.shape) != shape:
                raise TrainingError(f"the network's input '{spec.name}' takes samples of shape {spec.shape} but "
                                    f"{data.name} gives {shape}: set the input's shape to {shape} in the Network tab "
                                    "(\"$inputs\" in the network file), or reshape the array")
            if spec.dtype != data.input_dtype(spec.name):
                raise TrainingError(f"the network's input '{spec.name}' takes {spec.dtype} but {data.name} holds "
                                    f"{data.input_dtype(spec.name)} values for it: set the input's dtype to "
                                    f"{data.input_dtype(spec.name)}")

    def _check_token_ids(self) -> None:
        """A token id beyond the first Embedding's table: torch would fail deep in a step."""
        count = getattr(self.train_set, "token_count", None)
        embedding = first_embedding(self.network) if count else None
        size = self.network.node(embedding).parameters.get("num_embeddings") if embedding else None
        if isinstance(size, int) and count > size:
            raise TrainingError(f"{self.train_set.name} holds the token id {count - 1}, beyond the {size} entries of "
                                f"Embedding '{embedding}': set its num_embeddings to at least {count} ('Fit network "
                                "to data' in the Data tab, --fit on the command line)")

    def _check_network_fits(self) -> None:
        """What torch would only say halfway through a step, or by failing to allocate."""
        report = infer_shapes(self.network)
        if not report.ok:
            return  # compile_network reports the problems
        for problem in step_problems(self.network, report):
            raise TrainingError(problem.message)
        for name in report.outputs:
            self._check_output_fits(name, report, len(report.outputs) > 1)
        estimate = estimate_training_memory(self.network, self.config.batch_size, bf16=self.config.mixed_precision,
                                            device=self.device.type, channels_last=self.config.channels_last)
        device = str(self.device)
        problem = does_not_fit(estimate, available_memory(device), device,
                               data_moved_to(device, self.train_set, self.validation_set))
        if problem:
            raise TrainingError(problem)

    def _check_output_fits(self, name: str, report, several: bool) -> None:
        """Output `name` gives what its targets need (`several`: say which output it is)."""
        data = self.train_set.for_output(name) if hasattr(self.train_set, "for_output") else self.train_set
        output = report.output_shape_of(name)
        whose, which = (f"output '{name}'", f"the output '{name}'") if several else ("network's output", "the last")
        if data.is_classification and output is not None and len(output) != 1:
            raise TrainingError(f"the {whose} is {list(output)} per sample, but classifying "
                                f"{data.name} needs one score per class ([{data.num_classes}]): "
                                "add a Flatten before the last Linear in the Network tab or the network file")
        wanted = data.output_size
        if not data.is_classification and output is not None and math.prod(output) != wanted:
            gives = f"the {whose} gives" if several else "the network gives"
            last = f"{which} Linear's" if several else "the last Linear's"
            raise TrainingError(f"{gives} {math.prod(output)} value(s) per sample but {data.name} "
                                f"has {wanted} target(s) per sample: set {last} out_features to {wanted} "
                                "('Fit network to data' in the Data tab, --fit on the command line)")

    def _build(self) -> _RunState:
        config = self.config
        loss = make_loss(self.network, self.train_set, config.standardize_targets, self.measured_output)
        for note in loss.notes:
            self.log(note)
        torch.manual_seed(config.seed)
        trained = compile_network(self.network)
        if self.resume_from is None:  # a checkpoint sets every weight
            loaded = self._load_initial_weights(trained, Path(config.initial_weights)) if config.initial_weights \
                else set()
            unset = _frozen_and_unset(self.network, trained, loaded)
            if unset:
                self.log("warning: " + frozen_at_random_warning(unset, config.initial_weights))
        trained = trained.to(self.device)
        channels_last = uses_channels_last(self.network, config.channels_last)
        if config.channels_last and not channels_last:
            self.log("channels_last is not used with LBFGS, which reads the weights' gradients as one flat view")
        if channels_last:
            trained = trained.to(memory_format=torch.channels_last)
        model = trained
        if self.context.active:
            model = DistributedDataParallel(trained, device_ids=[self.device.index] if self.device.type == "cuda"
                                            else None)
        if config.compile:  # compiled at the first step; `trained` shares its parameters and is what is saved
            model = torch.compile(model)
        optimizer = make_optimizer(self.network, trained)  # DDP and torch.compile share its parameters
        groups = describe_groups(optimizer)
        if groups:
            self.log(f"the optimizer steps {groups}")
        normalization = self.train_set.normalization
        pipeline = config.pipeline()
        if pipeline:
            self.log(f"augmentation of every training batch: {pipeline.text()}")
        if isinstance(self.train_set, NamedInputsDataset):
            outputs = self.network.outputs()
            train = NamedInputBatches(self.train_set, self.device, outputs)
            validation = (NamedInputBatches(self.validation_set, self.device, outputs)
                          if self.validation_set is not None else None)
        else:
            train = batches_for(self.train_set, normalization, self.device, augmentation=pipeline,
                                channels_last=channels_last, workers=config.workers)
            validation = (batches_for(self.validation_set, normalization, self.device, channels_last=channels_last,
                                      workers=config.workers) if self.validation_set is not None else None)
        steps = math.ceil(len(train) // self.context.world / config.batch_size)
        schedule = config.schedule()
        scheduler = (schedule.build(optimizer, config.schedule_values(), epochs=config.epochs, steps_per_epoch=steps)
                     if schedule is not None else None)
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=config.mixed_precision)
        return _RunState(model, trained, optimizer, scheduler, loss, normalization, train, validation,
                         torch.Generator().manual_seed(config.seed), steps, autocast,
                         patience_left=config.early_stopping_patience)

    def _choose_threads(self, state: _RunState) -> None:
        """Set torch's intra-op threads for a CPU run: the option's count, or the faster of
        1 thread and every core on a few steps of the first batch (forward and backward on
        the model, no optimizer step, random state put back: the run is not changed)."""
        if self.device.type != "cpu":
            return
        most = training_threads()
        chosen, timings = self.config.threads or state.cpu_threads, {}
        if not chosen:
            chosen = most  # streamed batches, or one core: nothing to measure
            if most > 1 and isinstance(state.train, InMemoryBatches) and not self.config.compile:  # no compiling twice
                timings[most] = self._time_steps(state, most)
                if timings[most] < LARGE_STEP_SECONDS:  # a large step keeps every core busy: no need to time 1
                    timings[1] = self._time_steps(state, 1)
                    # every core timed again while it looks no faster: a moment of load elsewhere
                    # (the window starting the run) slows the timing of every core, not of 1, and
                    # left 1 of 5 window runs of the bench on 1 thread at 0.7 of the speed
                    for _ in range(RETIMINGS):
                        if timings[most] < 0.9 * timings[1] or timings[most] > RETIMED_STEP_SECONDS:
                            break  # decided, or a step so long that timing it again would delay the start
                        timings[most] = min(timings[most], self._time_steps(state, most))
                    chosen = most if timings[most] < 0.9 * timings[1] else 1  # a tie leaves cores free
                timings = timings if all(map(math.isfinite, timings.values())) else {}
        torch.set_num_threads(chosen)
        measured = ", ".join(f"{count}: {seconds * 1000:.1f} ms/step"
                             for count, seconds in sorted(timings.items()))
        self.log(f"training with {counted(chosen, 'CPU thread')}" + (f" (measured {measured})" if measured else ""))

    def _time_steps(self, state: _RunState, threads: int, steps: int = 3) -> float:
        x, y = next(iter(state.train.batches(self.config.batch_size, generator=torch.Generator().manual_seed(0))))
        rng = torch.get_rng_state()
        torch.set_num_threads(threads)
        times = []
        try:
            for _ in range(steps + 1):  # the first one warms up
                started = time.perf_counter()
                with state.autocast:  # the module itself: through DDP each backward would all-reduce,
                    value = state.loss(state.trained(*forward_inputs(x)), y)  # and ranks may time another count
                value.backward()
                times.append(time.perf_counter() - started)
        except RuntimeError:  # the data does not fit the network: the first real step says how
            return math.inf
        finally:
            state.optimizer.zero_grad(set_to_none=True)
            torch.set_rng_state(rng)
        return min(times[1:])

    def _restore(self, state: _RunState) -> None:
        checkpoint = load_checkpoint(self.resume_from)
        problem = checkpoint_problem(checkpoint, state.generator)
        if problem:
            raise TrainingError(f"{self.resume_from} cannot be resumed: {problem}; resume from another checkpoint "
                                "or start a new run")
        try:
            state.trained.load_state_dict(checkpoint["model"])
        except RuntimeError as error:
            raise TrainingError(f"{self.resume_from} holds weights of another network: "
                                f"{first_line(error)}") from None
        changes = checkpoint.get("settings_changes", [])
        self.settings_changes = list(changes) if isinstance(changes, list) else []
        try:
            self._restore_optimizer(state, checkpoint)
            state.best = float(checkpoint.get("best", math.inf))
            state.best_kept = checkpoint.get("best_kept")
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as error:
            raise TrainingError(f"{self.resume_from} cannot be resumed: its optimizer or schedule state is damaged "
                                f"({error}); resume from another checkpoint or start a new run") from None
        state.generator.set_state(checkpoint["generator"])
        torch.set_rng_state(checkpoint["torch_rng"])
        state.start_epoch = int(checkpoint["epoch"]) + 1
        threads = checkpoint.get("cpu_threads", 0)
        if isinstance(threads, int) and not isinstance(threads, bool) and 0 < threads <= training_threads():
            state.cpu_threads = threads  # a resume is bit-identical only with the same thread count
        state.epoch = state.start_epoch - 1
        self.history = list(checkpoint.get("history", []))
        self.log(f"resumed from {self.resume_from} after epoch {checkpoint['epoch']}")

    def _restore_optimizer(self, state: _RunState, checkpoint: dict) -> None:
        optimizer_type = self.network.optimizer.type
        if checkpoint.get("optimizer_type") == optimizer_type:
            state.optimizer.load_state_dict(checkpoint["optimizer"])
            changed = self.settings_changes and checkpoint.get("optimizer_file_settings") == \
                self._optimizer_file_settings()
            if changed:  # the run's state holds them; the network's settings are those the run started with
                self.log("continuing with the settings changed while paused: " + ", ".join(
                    f"{key} {value}" for change in self.settings_changes for key, value in change.items()
                    if key not in ("epoch", "batch")))
            elif state.scheduler is None:  # the user's current settings (say, a lower lr) win
                apply_settings(state.optimizer, self._optimizer_file_settings())
        else:
            self.log(f"the checkpoint's optimizer was {checkpoint.get('optimizer_type')}; {optimizer_type} starts "
                     "with fresh state")
        if state.scheduler is not None and checkpoint.get("scheduler"):
            state.scheduler.load_state_dict(checkpoint["scheduler"])

    def _load_initial_weights(self, model: torch.nn.Module, path: Path) -> set[str]:
        """Start from the tensors of a weights file whose names and shapes fit (a new
        classifier keeps its fresh weights); none fitting is refused. Returns their names."""
        state = load_state_dict(path, TrainingError)
        own = model.state_dict()
        fitting = fitting_tensors(model, state)
        if not fitting:
            raise TrainingError(f"no tensor of {path} fits this network (its names: "
                                f"{', '.join(list(state)[:3])}, ...): choose weights of this network")
        model.load_state_dict(fitting, strict=False)
        fresh = [key for key in own if key not in fitting]
        self.log(f"started from {path.name}: {len(fitting)} of {counted(len(own), 'tensor')}"
                 + (f"; fresh: {', '.join(fresh[:4])}{' …' if len(fresh) > 4 else ''}" if fresh else ""))
        return set(fitting)

    def _optimizer_file_settings(self) -> dict[str, Any]:
        """The optimizer's arguments as the network sets them (before any change while paused)."""
        entry = self.network.catalog.optimizers.get(self.network.optimizer.type)
        return entry.constructor_arguments(self.network.optimizer.parameters)

    def _start_run_folder(self, state: _RunState) -> None:
        if self.folder is None:
            return
        self.folder.write_start(self.network, {
            "training": self.config.replace(schedule_parameters=self.config.schedule_values()).to_dict(),
            "train_set": self.train_set.name,
            "train_source": describe_source(self.train_set),
            "validation_set": self.validation_set.name if self.validation_set is not None else None,
            "validation_source": describe_source(self.validation_set),
            "validation_split": split_dict(getattr(self.validation_set, "split_part", None)),
            "classes": self.train_set.classes,
            "normalization": normalization_dict(state.normalization),
            "drawing_style": _drawing_style_dict(self.train_set),
            "target_normalization": normalization_dict(state.loss.target_normalization),
            "torch": torch.__version__,
        }, tokenizer=getattr(self.train_set, "tokenizer", None))
        self.log(f"run folder {self.folder.path}")  # once it exists: a run refused before has none
        self.tensorboard = TensorBoardLog.open(self.folder.path, state.start_epoch, self.log)
        self.tensorboard.write_graph(state.trained, state.train.batches(2, shuffle=False))

    def _train_epochs(self, state: _RunState) -> tuple[str, str]:
        """Epoch after epoch; (status, message) of how the loop ended."""
        patience = self.config.early_stopping_patience
        for epoch in range(state.start_epoch, self.config.epochs + 1):
            state.epoch = epoch
            started = time.perf_counter()
            train_loss, train_accuracy = self._train_one_epoch(state)
            validation_loss = validation_accuracy = None
            output_losses = self._output_losses(state, "train_loss", tally_parts=state.epoch_parts)
            if state.validation is not None:  # every rank measures the whole set: the same figures everywhere
                kept: list | None = [] if state.loss.num_classes is not None else None
                parts: list | None = [] if isinstance(state.loss, OutputLosses) else None
                validation_loss, validation_accuracy = evaluate_loss(state.trained, state.validation, state.loss,
                                                                     self.config.batch_size, state.autocast, kept,
                                                                     parts)
                output_losses.update(self._output_losses(state, "validation_loss", parts))
                if kept and self.folder is not None:  # only rank 0 has a run folder
                    predictions, targets = (torch.cat(part).cpu().numpy() for part in zip(*kept))
                    self.folder.write_predictions(epoch, predictions, targets)
                    self.tensorboard.write_confusion(epoch, predictions, targets, self.train_set.classes)
            self._check_epoch_finite(state, validation_loss)
            recorded = self._record_layers(state, epoch)
            monitored = validation_loss if validation_loss is not None else train_loss
            learning_rate = state.optimizer.param_groups[0]["lr"]
            self._step_schedule(state, "metric", monitored)
            self._step_schedule(state, "epoch")
            event = EpochEvent(epoch, self.config.epochs, train_loss, train_accuracy, validation_loss,
                               validation_accuracy, learning_rate, time.perf_counter() - started, output_losses)
            self.history.append(event.history_row())
            improved = monitored < state.best
            state.best = min(state.best, monitored)
            self._save_epoch(state, self._keeps_best(state, event, improved))
            self.tensorboard.write_epoch(self.history[-1])
            self.on_event(event)
            if recorded is not None:
                self._report_layers(recorded)
            if patience and validation_loss is not None:
                state.patience_left = patience if improved else state.patience_left - 1
                if state.patience_left <= 0:
                    return "early_stopped", (f"early stopping after epoch {epoch}: the validation loss did not "
                                             f"improve for {counted(patience, 'epoch')}")
        return "finished", ""

    def _output_losses(self, state: _RunState, key: str, tally_parts: list[float] | None) -> dict[str, float]:
        """Each output's mean loss over an epoch ({} for one output), logged as well."""
        if not isinstance(state.loss, OutputLosses) or not tally_parts:
            return {}
        self.log(f"epoch {state.epoch}, {key.replace('_', ' ')} per output: {state.loss.describe(tally_parts)}")
        return {f"{key}.{output}": value for output, value in zip(state.loss.outputs, tally_parts)}

    def _train_one_epoch(self, state: _RunState) -> tuple[float, float | None]:
        state.model.train()
        for name in getattr(state.trained, "frozen_statistics", ()):
            getattr(state.trained, name).eval()
        tally = _EpochTally(self, state)
        batches = state.train.training_batches(self.config.batch_size, generator=state.generator,
                                               shard=(self.context.rank, self.context.world))
        for index, (x, y, mix) in enumerate(batches):
            if self.control.paused:
                tally.report()  # the figures up to the pause, shown while it lasts
            self.control.checkpoint()
            changes = self.control.take_changes()
            if changes:
                self._change_settings(state, changes, index)
            try:
                loss, output = self._step(state, x, y, index, mix)
            except RuntimeError as error:  # torch refusing the data: dtype, shape, device
                if is_out_of_memory(error):
                    raise
                if self.config.compile and isinstance(error, torch._dynamo.exc.TorchDynamoException):
                    raise TrainingError(f"torch.compile could not compile the network: {first_line(error)}. Turn off "
                                        "'Compile the network' (--no-compile)") from None
                raise self._data_error(state, x, error) from None
            self._step_schedule(state, "batch")
            if state.recorder is not None:
                state.recorder.after_step(index)
            tally.add(loss, output, y)
            if tally.due():
                tally.report()
        tally.report()
        totals = tally.part_totals()
        if totals is not None:  # every rank's sums: the means of the whole epoch
            *sums, seen = all_reduce(totals, self.context, self.device)
            state.epoch_parts = [value / seen for value in sums]
        total_loss, total_correct, total_seen = all_reduce([tally.loss_sum, tally.correct_seen, tally.seen],
                                                            self.context, self.device)
        return total_loss / total_seen, (total_correct / total_seen if tally.classification else None)

    def _change_settings(self, state: _RunState, changes: dict[str, Any], index: int) -> None:
        """Put hyper-parameters changed while paused into the running optimizer. With a
        schedule, a new learning rate rescales the schedule (its base and peak rates),
        which would otherwise set the old one again at its next step."""
        entry = self.network.catalog.optimizers.get(self.network.optimizer.type)
        try:
            checked = {name: entry.parameter(name).validate(value, entry=entry.name) for name, value in changes.items()}
        except PyTorchGUIError as error:  # the form checks the values: this is a hand-made request
            self.log(f"settings not changed: {error}")
            return
        groups = state.optimizer.param_groups
        old_rates = [group["lr"] for group in groups]
        apply_settings(state.optimizer, entry.constructor_arguments(checked))
        if state.scheduler is not None:
            for index, (group, old_rate) in enumerate(zip(groups, old_rates)):
                if old_rate <= 0 or group["lr"] == old_rate:
                    continue
                ratio = group["lr"] / old_rate
                state.scheduler.base_lrs[index] *= ratio
                for key in ("initial_lr", "max_lr", "min_lr"):
                    if isinstance(group.get(key), (int, float)):
                        group[key] *= ratio
        self.settings_changes.append({"epoch": state.epoch, "batch": index, **checked})
        shown = ", ".join(f"{name} {value}" for name, value in checked.items())
        self.log(f"changed while paused, from batch {index + 1} of epoch {state.epoch}: {shown}")
        self.on_event(SettingsChangedEvent(state.epoch, index, state.steps, checked))

    def _step(self, state: _RunState, x: torch.Tensor, y: torch.Tensor, index: int,
              mix: Mix | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimisation step: (loss, output) of the forward pass the step started from,
        both detached, on the device. A batch blended by MixUp or CutMix is scored against
        both targets, weighted.

        LBFGS evaluates the closure as often as it needs during its step, and each of its
        evaluations is clipped; every other optimizer takes one forward and backward. On the
        CPU the loss is checked before the step, so that a step never makes the weights
        NaN; on a GPU that check would wait for the device at every batch, so the loss is
        checked where the figures are read (`_EpochTally.report`) and a bad step is caught
        by the end-of-epoch check of the weights before anything is saved.
        """
        first: dict[str, torch.Tensor] = {}
        inputs = forward_inputs(x)

        def closure() -> torch.Tensor:
            state.optimizer.zero_grad(set_to_none=True)
            with state.autocast:
                output = state.model(*inputs)
                value = state.loss(output, y)
                if mix is not None:
                    parts = state.loss.parts
                    value = mix.weight * value + (1 - mix.weight) * state.loss(output, mix.other)
                    if parts is not None:
                        state.loss.parts = mix.weight * parts + (1 - mix.weight) * state.loss.parts
            value.backward()
            if self.config.gradient_clip > 0:
                torch.nn.utils.clip_grad_norm_(state.model.parameters(), self.config.gradient_clip)
            first.setdefault("loss", value.detach())
            first.setdefault("output", tuple(each.detach() for each in output) if isinstance(output, tuple)
                             else output.detach())
            if state.loss.parts is not None:
                first.setdefault("parts", state.loss.parts)
            return value

        check_now = self.check_each_step
        if isinstance(state.optimizer, torch.optim.LBFGS):
            state.optimizer.step(closure)
            if check_now:
                self._check_finite(state, float(first["loss"]), index)
        else:
            closure()
            if check_now:
                self._check_finite(state, float(first["loss"]), index)  # before the step: the weights stay good
            state.optimizer.step()
        state.loss.parts = first.get("parts")  # the step's own, not LBFGS's later evaluations'
        return first["loss"], first["output"]

    def _data_error(self, state: _RunState, x: torch.Tensor, error: RuntimeError) -> TrainingError:
        """What torch refused, said in the network's and the data's terms."""
        node = failing_node(self.network, state.trained, x)
        where = (f"node '{node}' ({self.network.node(node).type})" if node is not None
                 else f"the loss {self.network.loss.type if self.network.loss else ''}".rstrip())
        batches = " and ".join(f"{each.dtype} {list(each.shape[1:])}" for each in forward_inputs(x))
        return TrainingError(f"{where} cannot take the data of {self.train_set.name} (batches of {batches}): "
                             f"{first_line(error)}. Check the network's input and layers in the Network "
                             "tab (the network file) against the data")

    @staticmethod
    def _diverged(state: _RunState, what: str) -> TrainingError:
        learning_rate = state.optimizer.param_groups[0]["lr"]
        return TrainingError(f"{what}: training stopped. Lower the learning rate (now {learning_rate:g}) or turn on "
                             "gradient clipping; the last good checkpoint is kept")

    def _check_finite(self, state: _RunState, batch_loss: float, index: int) -> None:
        if not math.isfinite(batch_loss):
            raise self._diverged(state, f"the loss became {batch_loss} at epoch {state.epoch}, batch {index + 1}")

    def _check_epoch_finite(self, state: _RunState, validation_loss: float | None) -> None:
        """Before an epoch is saved as the last good one: the loss checked before each step
        cannot see weights that the last steps blew up."""
        exploded = [name for name, value in state.trained.named_parameters() if not torch.isfinite(value).all()]
        if exploded or (validation_loss is not None and not math.isfinite(validation_loss)):
            what = (f"the weights of {exploded[0].split('.')[0]} are no longer finite" if exploded
                    else f"the validation loss became {validation_loss}")
            raise self._diverged(state, f"{what} at the end of epoch {state.epoch}")

    def _step_schedule(self, state: _RunState, when: str, monitored: float | None = None) -> None:
        schedule = self.config.schedule()
        if state.scheduler is None or schedule.step != when:
            return
        if when == "metric":
            state.scheduler.step(monitored)
        else:
            state.scheduler.step()

    def _save_epoch(self, state: _RunState, improved: bool) -> None:
        if self.folder is None:
            return
        weights = {key: value.detach().cpu() for key, value in state.trained.state_dict().items()}
        self.folder.write_epoch({
            "epoch": state.epoch,
            "model": weights,
            "optimizer": state.optimizer.state_dict(),
            "optimizer_type": self.network.optimizer.type,
            "scheduler": state.scheduler.state_dict() if state.scheduler is not None else None,
            "generator": state.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cpu_threads": torch.get_num_threads() if self.device.type == "cpu" else 0,
            "settings_changes": self.settings_changes,
            "optimizer_file_settings": self._optimizer_file_settings(),
            "config": self.config.to_dict(),
            "history": self.history,
            "best": state.best,
            "best_kept": state.best_kept,
        }, improved, self.history)

    def _keeps_best(self, state: _RunState, event: EpochEvent, improved: bool) -> bool:
        """Whether this epoch's weights become best_weights.pt: the monitored loss
        `improved`, or the keep_best_by figure beat the best so far."""
        if self.keep_best_by is None:
            return improved
        name, higher_is_better = self.keep_best_by
        value = getattr(event, name)
        if value is None or not math.isfinite(value):
            return False
        if state.best_kept is not None and (value <= state.best_kept if higher_is_better else value >= state.best_kept):
            return False
        state.best_kept = value
        return True

    def _layer_recorder(self, state: _RunState) -> LayerRecorder | None:
        """The recorder of the layers' histories; a resumed run continues its folder's."""
        if not self.record_layers:
            return None
        start = None
        if self.resume_from is not None and self.folder is not None:
            try:
                start = self.folder.read_layer_histories()
            except PyTorchGUIError as error:
                self.log(f"the layer histories start again: {error}")
            start = start.before(state.start_epoch) if start is not None else None
        return LayerRecorder(self.network, state.trained, lambda: state.train.batches(self.config.batch_size,
                                                                                      shuffle=False),
                             state.steps, start)

    def _record_layers(self, state: _RunState, epoch: int) -> LayersRecordedEvent | None:
        if state.recorder is None:
            return None
        self.layer_histories = state.recorder.end_epoch(epoch)
        if self.folder is not None:
            self.folder.write_layer_histories(self.layer_histories)
        return LayersRecordedEvent(epoch, self.layer_histories, layer_warnings(self.layer_histories))

    def _report_layers(self, recorded: LayersRecordedEvent) -> None:
        """Each layer's trouble once in the log, the first epoch it shows; all of it in the event."""
        new = [warning for warning in recorded.warnings if (warning.layer, warning.kind) not in self.warned]
        self.warned.update((warning.layer, warning.kind) for warning in new)
        for line in describe_warnings(new):
            self.log(f"warning after epoch {recorded.epoch}: {line}")
        self.on_event(recorded)

    def _finish(self, status: str, message: str) -> None:
        try:
            if self.folder is not None and self.folder.path.is_dir():
                self.folder.write_summary(status, message, self.history)
                if self.layer_histories is not None and self.layer_histories.epochs:
                    try:
                        self.folder.write_layer_views(self.layer_histories)
                    except PyTorchGUIError as error:  # the run itself is saved: say it, do not fail it
                        self.log(f"the layer histories' tables and figure were not written: {error}")
        finally:
            self.tensorboard.close()
            leave_process_group(self.context)


def checkpoint_problem(checkpoint: dict, generator: torch.Generator) -> str:
    """What is wrong with a checkpoint's fields ("" if nothing): a file with the right
    format key can still have been written by hand or damaged."""
    epoch = checkpoint.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        return f"its epoch is {epoch!r}, not a whole number"
    model = checkpoint.get("model")
    if not isinstance(model, dict) or not all(isinstance(v, torch.Tensor) for v in model.values()):
        return "its model is not a set of named tensors"
    for key, size in (("generator", generator.get_state().numel()), ("torch_rng", torch.get_rng_state().numel())):
        value = checkpoint.get(key)
        if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or value.numel() != size:
            return f"its {key} state is missing or damaged"
    if not isinstance(checkpoint.get("optimizer", {}), dict) or not isinstance(checkpoint.get("history", []), list):
        return "its optimizer state or history is damaged"
    return ""


@torch.inference_mode()
def evaluate_loss(model, batches: InMemoryBatches, loss: LossAdapter | OutputLosses, batch_size: int, autocast=None,
                  predictions: list | None = None, parts: list | None = None):
    """(mean loss, accuracy or None) of `model` over all `batches`, in eval mode; a
    classifier's (predicted classes, targets) of each batch go into `predictions` if given,
    on the device; with several outputs, each one's mean loss goes into `parts` if given.
    The sums stay on the device and are read once, at the end."""
    was_training = model.training
    model.eval()
    total_loss = correct = part_sums = None  # on the device of the first output
    seen = 0
    for x, y in batches.batches(batch_size, shuffle=False):
        if autocast is not None:
            with autocast:
                output = model(*forward_inputs(x))
        else:
            output = model(*forward_inputs(x))
        scored, targets = loss.scored(output, y)
        count = batch_length(y)
        if total_loss is None:
            total_loss = torch.zeros((), dtype=sum_dtype(scored.device), device=scored.device)
            correct = torch.zeros((), dtype=torch.int64, device=scored.device)
        total_loss += loss(output if isinstance(output, tuple) else output.float(), y).to(total_loss.dtype) * count
        if loss.parts is not None:
            part_sums = loss.parts.to(total_loss.dtype) * count + (0 if part_sums is None else part_sums)
        if loss.num_classes is not None:
            predicted = scored.argmax(1)
            correct += (predicted == targets).sum()
            if predictions is not None:
                predictions.append((predicted, targets))
        seen += count
    model.train(was_training)
    total_loss, correct, *sums = torch.cat([torch.stack([total_loss, correct.to(total_loss.dtype)]),
                                            part_sums if part_sums is not None else total_loss.new_zeros(0)]).tolist()
    if parts is not None:
        parts.extend(value / seen for value in sums)
    return total_loss / seen, (correct / seen if loss.num_classes is not None else None)


class _EpochTally:
    """The running figures of one epoch: batch losses and the count of right predictions
    stay on the device until `report` reads them all at once (one wait for the device),
    checks the losses and sends one BatchEvent for the batches since the last report."""

    def __init__(self, trainer: Trainer, state: _RunState):
        self.trainer, self.state = trainer, state
        self.classification = state.loss.num_classes is not None
        self.pending: list[torch.Tensor] = []  # the unread batch losses
        self.counts: list[int] = []
        self.done = 0  # batches stepped
        self.correct = torch.zeros((), dtype=torch.int64, device=trainer.device)
        self.loss_sum, self.correct_seen, self.seen = 0.0, 0, 0
        self.reported = self.window_start = time.perf_counter()
        self.window_seen = 0
        self.part_sums: torch.Tensor | None = None  # several outputs: each one's loss times its batch sizes

    def add(self, loss: torch.Tensor, output, targets) -> None:
        count = batch_length(targets)
        self.pending.append(loss)
        self.counts.append(count)
        self.done += 1
        parts = self.state.loss.parts
        if parts is not None:
            added = parts.to(sum_dtype(parts.device)) * count
            self.part_sums = added if self.part_sums is None else self.part_sums + added
        if self.classification:
            self.correct += correct_count(*self.state.loss.scored(output, targets))

    def part_totals(self) -> list[float] | None:
        """Each output's training loss summed over the samples, then the samples (None for one output)."""
        if self.part_sums is None:
            return None
        return [*self.part_sums.tolist(), float(self.seen)]

    def due(self) -> bool:
        return time.perf_counter() - self.reported >= self.trainer.report_seconds

    def report(self) -> None:
        """Read what is pending, check it, and report the batches stepped since the last report."""
        if not self.pending:
            return
        values = torch.stack(self.pending).to(sum_dtype(self.correct.device))
        *losses, correct = torch.cat([values, self.correct.reshape(1).to(values.dtype)]).tolist()
        first = self.done - len(losses)  # 0-based index of the first pending batch
        for offset, value in enumerate(losses):
            self.trainer._check_finite(self.state, value, first + offset)
        for value, count in zip(losses, self.counts):  # in order, in float64: the sums of every run agree
            self.loss_sum += value * count
            self.seen += count
            self.window_seen += count
        self.correct_seen = int(correct)
        self.pending, self.counts = [], []
        now = time.perf_counter()
        self.trainer.on_event(BatchEvent(self.state.epoch, self.done, self.state.steps, losses[-1],
                                         self.correct_seen / self.seen if self.classification else None,
                                         self.window_seen / max(now - self.window_start, 1e-9), tuple(losses)))
        self.reported = now
        if now - self.window_start > 2.0:
            self.window_start, self.window_seen = now, 0
