"""The training engine: a plain loop with events, a cancel and a pause flag, checkpoints.

It knows nothing of Qt: the Train tab runs `Trainer.run` on a QThread and turns its
events into signals; the CLI runs it in the terminal. Every random choice (weight
initialisation, shuffling, augmentation, dropout) comes from seeded generators whose
states are saved in each epoch's checkpoint, so on the CPU a run resumed at epoch k ends
with the same weights, bit for bit, as a run that was never interrupted.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import torch

from pytorchgui.core import network_format
from pytorchgui.core.atomic import atomic_write, atomic_write_text
from pytorchgui.core.compiler import compile_network
from pytorchgui.core.datasets import InMemoryBatches, Normalization, TensorDataset, batches_for
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.network import Network
from pytorchgui.core.safe_load import load_tensors

LR_SCHEDULES = ("none", "StepLR", "CosineAnnealingLR", "OneCycleLR", "ReduceLROnPlateau")
CHECKPOINT_VERSION = 1


class TrainingError(PyTorchGUIError):
    """Training cannot start or had to stop; the message says why and what to do."""


@dataclass
class TrainingConfig:
    epochs: int = 5
    batch_size: int = 128
    workers: int = 0
    device: str = "cpu"
    seed: int = 0
    lr_schedule: str = "none"
    step_size: int = 5
    gamma: float = 0.1
    early_stopping_patience: int = 0  # epochs without a better validation loss; 0: off
    gradient_clip: float = 0.0  # max gradient norm; 0: off
    mixed_precision: bool = False  # bfloat16 autocast
    channels_last: bool = False
    crop_padding: int = 0
    horizontal_flip: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainingConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def check(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.workers < 0:
            raise TrainingError("epochs and batch size must be at least 1, workers at least 0")
        if self.lr_schedule not in LR_SCHEDULES:
            raise TrainingError(f"unknown learning-rate schedule {self.lr_schedule!r}; use one of "
                                f"{', '.join(LR_SCHEDULES)}")


@dataclass
class BatchEvent:
    epoch: int
    batch: int
    batches: int
    loss: float
    accuracy: float | None
    images_per_second: float


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


@dataclass
class TrainingResult:
    status: str  # finished, stopped, early_stopped
    epochs_done: int
    history: list[dict[str, Any]]
    run_dir: Path | None
    message: str = ""
    model: Any = None
    normalization: Normalization | None = None


@dataclass
class TrainingControl:
    """Flags the GUI sets from its thread; the loop reads them between batches."""

    cancel: threading.Event = field(default_factory=threading.Event)
    resume: threading.Event = field(default_factory=lambda: _set(threading.Event()))

    def pause(self) -> None:
        self.resume.clear()

    def unpause(self) -> None:
        self.resume.set()

    def stop(self) -> None:
        self.cancel.set()
        self.resume.set()

    @property
    def paused(self) -> bool:
        return not self.resume.is_set()


def _set(event: threading.Event) -> threading.Event:
    event.set()
    return event


def available_devices() -> list[tuple[str, str]]:
    """(device string, label) for the CPU, every CUDA device by name, and MPS where present."""
    devices = [("cpu", f"CPU ({os.cpu_count()} cores)")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices.append((f"cuda:{index}", f"GPU {index}: {torch.cuda.get_device_name(index)}"))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append(("mps", "Apple GPU (MPS)"))
    return devices


def training_threads() -> int:
    """Intra-op threads for the training thread: every core.

    Measured on 2 cores (bench/bench_training.py, LeNet-5, batch 128): 2 threads 10.6k
    images/s, 1 thread 7.9k, with the GUI idle between its 2 Hz redraws. The collapse seen
    before (7.2k -> 347 images/s) came from a GUI thread that was busy all the time (a
    spinning event loop); with the real event loop sleeping between events, the GUI takes
    a core only for the moment of a redraw.
    """
    return os.cpu_count() or 1


# -- losses and targets --------------------------------------------------------------------------
LOG_PROBABILITY_OUTPUTS = {"LogSoftmax", "LogSigmoid"}
PROBABILITY_OUTPUTS = {"Softmax", "Sigmoid", "Softmin", "Hardsigmoid"}


@dataclass
class LossAdapter:
    """The loss, and how network outputs and dataset targets are shaped for it."""

    loss: torch.nn.Module
    output_transform: str  # none, log_softmax, sigmoid
    target_kind: str
    num_classes: int | None
    notes: list[str]

    def __call__(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.output_transform == "log_softmax":
            output = output.log_softmax(1)
        elif self.output_transform == "sigmoid":
            output = output.sigmoid()
        value = self.loss(output, self.prepare(targets, output))
        return value if value.dim() == 0 else value.mean()  # reduction="none": train on the mean

    def prepare(self, targets: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        kind = self.target_kind
        if kind == "class_indices":
            return targets
        if self.num_classes is None:  # regression: same-shape float targets
            return targets.to(output.dtype).reshape(output.shape)
        one_hot = torch.nn.functional.one_hot(targets, self.num_classes).to(output.dtype)
        if kind in ("probabilities", "same_shape", "multi_hot"):
            return one_hot
        if kind == "plus_minus_one":
            return one_hot * 2 - 1
        if kind == "multilabel_indices":
            padded = torch.full((len(targets), self.num_classes), -1, dtype=torch.int64, device=targets.device)
            padded[:, 0] = targets
            return padded
        raise TrainingError(f"cannot prepare {kind} targets")


def make_loss(network: Network, dataset: TensorDataset | Any) -> LossAdapter:
    """Check that the network's loss fits the dataset, and say how targets are made."""
    if network.loss is None:
        raise TrainingError("the network has no loss function: choose one in the Network tab")
    outputs = network.outputs()
    return loss_adapter(network.catalog, network.loss, dataset, network.node(outputs[0]).type if outputs else "")


def loss_adapter(catalog, choice, dataset: TensorDataset | Any, output_type: str = "") -> LossAdapter:
    """The loss `choice` (a FunctionChoice) for `dataset`, for a network whose last node is
    of `output_type` (LogSoftmax, Sigmoid, ...: then no transform is added)."""
    entry = catalog.losses.get(choice.type)
    info = entry.loss
    name = entry.name
    if not info.takes_one_input:
        what = {"pair": "pairs of inputs", "triplet": "anchor, positive and negative inputs",
                "sequence": "sequences with their lengths", "input_target_variance": "a predicted variance"}
        raise TrainingError(f"{name} needs {what.get(info.call, info.call)}, but PyTorchGUI trains a network with one "
                            "input against a target: choose CrossEntropyLoss for classes or MSELoss for values")
    classes = dataset.num_classes if dataset.is_classification else None
    if info.target in ("class_indices", "multilabel_indices", "plus_minus_one", "multi_hot") and classes is None:
        raise TrainingError(f"{name} needs class labels, but {dataset.name} has a regression target: choose MSELoss, "
                            "L1Loss or HuberLoss")
    notes = []
    transform = "none"
    if info.input == "log_probabilities" and output_type not in LOG_PROBABILITY_OUTPUTS:
        transform = "log_softmax"
        notes.append(f"{name} expects log-probabilities: log_softmax is applied to the output "
                     "(end the network with LogSoftmax to make it explicit)")
    elif info.input == "probabilities" and output_type not in PROBABILITY_OUTPUTS:
        transform = "sigmoid"
        notes.append(f"{name} expects probabilities: sigmoid is applied to the output "
                     "(or use BCEWithLogitsLoss, which is more stable)")
    if classes is not None and info.target in ("probabilities", "same_shape", "multi_hot", "plus_minus_one"):
        notes.append(f"{name} gets one-hot targets of {classes} classes")
    return LossAdapter(entry.build(choice.parameters), transform, info.target, classes, notes)


def accuracy_count(output: torch.Tensor, targets: torch.Tensor) -> int:
    return int((output.argmax(1) == targets).sum())


# -- the engine ------------------------------------------------------------------------------
def _scheduler(name: str, optimizer, config: TrainingConfig, steps_per_epoch: int):
    schedules = torch.optim.lr_scheduler
    if name == "StepLR":
        return schedules.StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)
    if name == "CosineAnnealingLR":
        return schedules.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if name == "OneCycleLR":
        top = max(group["lr"] for group in optimizer.param_groups)
        return schedules.OneCycleLR(optimizer, max_lr=top, epochs=config.epochs, steps_per_epoch=steps_per_epoch)
    if name == "ReduceLROnPlateau":
        return schedules.ReduceLROnPlateau(optimizer, factor=config.gamma, patience=max(1, config.step_size // 2))
    return None


def _serialise(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint, read with weights_only=True: a file holding code is refused."""
    checkpoint = load_tensors(path, TrainingError, "PyTorchGUI checkpoint")
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != "pytorchgui.checkpoint":
        raise TrainingError(f"{path} is not a PyTorchGUI checkpoint")
    return checkpoint


def new_run_dir(base: Path, network_name: str) -> Path:
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in network_name)[:40] or "network"
    path = base / f"{stamp}_{safe}"
    counter = 2
    while path.exists():
        path = base / f"{stamp}_{safe}_{counter}"
        counter += 1
    path.mkdir(parents=True)
    return path


@dataclass
class DistributedContext:
    """This process's place in a torchrun job (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def distributed_context(device: str) -> DistributedContext:
    """Join the torchrun job this process was started in, if any: gloo on the CPU, NCCL on
    GPUs (each process on the GPU of its LOCAL_RANK)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistributedContext()
    import torch.distributed as dist

    context = DistributedContext(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(context.local_rank)
        dist.init_process_group(backend)
    return context


def _all_reduce(values: list[float], context: DistributedContext, device) -> list[float]:
    if not context.active:
        return values
    import torch.distributed as dist

    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


class Trainer:
    """Train `network` on `train_set` (and evaluate `validation_set` after each epoch)."""

    def __init__(self, network: Network, train_set: TensorDataset, config: TrainingConfig, *,
                 validation_set: TensorDataset | None = None, run_dir: Path | None = None,
                 on_event: Callable[[Any], None] | None = None, control: TrainingControl | None = None,
                 resume_from: str | os.PathLike | None = None, log: Callable[[str], None] | None = None):
        config.check()
        self.network, self.train_set, self.validation_set = network, train_set, validation_set
        self.config, self.run_dir = config, Path(run_dir) if run_dir else None
        self.on_event = on_event or (lambda event: None)
        self.control = control or TrainingControl()
        self.resume_from = resume_from
        self.log = log or (lambda message: None)
        self.context = distributed_context(config.device)
        if self.context.active and config.device.startswith("cuda"):
            config.device = f"cuda:{self.context.local_rank}"
        self.device = torch.device(config.device)
        if not self.context.main:  # only rank 0 reports and writes the run folder
            self.run_dir, self.on_event, self.log = None, (lambda event: None), (lambda message: None)
        self.history: list[dict[str, Any]] = []

    def _check_data(self) -> None:
        spec = self.network.input_spec
        if spec is None or list(spec.shape) != list(self.train_set.sample_shape):
            raise TrainingError(f"the network takes input of shape {spec.shape if spec else 'unset'} but "
                                f"{self.train_set.name} has samples of shape {self.train_set.sample_shape}: press "
                                "'Fit network to data' in the Data tab")
        if self.network.optimizer is None:
            raise TrainingError("the network has no optimizer: choose one in the Network tab")
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise TrainingError(f"device {self.config.device} is not available: no CUDA GPU found; train on the CPU")

    def run(self) -> TrainingResult:
        self._check_data()
        config = self.config
        loss = make_loss(self.network, self.train_set)
        for note in loss.notes:
            self.log(note)
        torch.manual_seed(config.seed)
        model = compile_network(self.network).to(self.device)
        if config.channels_last:
            model = model.to(memory_format=torch.channels_last)
        trained = model  # what is saved and returned; `model` may be its DDP wrapper
        if self.context.active:
            from torch.nn.parallel import DistributedDataParallel

            model = DistributedDataParallel(trained, device_ids=[self.device.index] if self.device.type == "cuda"
                                            else None)
        optimizer_entry = self.network.catalog.optimizers.get(self.network.optimizer.type)
        optimizer = optimizer_entry.build_optimizer(model.parameters(), self.network.optimizer.parameters)
        closure_needed = self.network.optimizer.type == "LBFGS"
        normalization = self.train_set.normalization or self.train_set.compute_normalization()
        train = batches_for(self.train_set, normalization, self.device, crop_padding=config.crop_padding,
                            horizontal_flip=config.horizontal_flip, channels_last=config.channels_last,
                            workers=config.workers)
        validation = (batches_for(self.validation_set, normalization, self.device, channels_last=config.channels_last,
                                  workers=config.workers) if self.validation_set is not None else None)
        steps = math.ceil(len(train) // self.context.world / config.batch_size)
        scheduler = _scheduler(config.lr_schedule, optimizer, config, steps)
        generator = torch.Generator().manual_seed(config.seed)
        start_epoch, best = 1, math.inf
        if self.resume_from is not None:
            checkpoint = load_checkpoint(self.resume_from)
            try:
                trained.load_state_dict(checkpoint["model"])
            except RuntimeError as error:
                raise TrainingError(f"{self.resume_from} holds weights of another network: "
                                    f"{str(error).splitlines()[0]}") from None
            if checkpoint.get("optimizer_type") == self.network.optimizer.type:
                optimizer.load_state_dict(checkpoint["optimizer"])
                if scheduler is None:  # the user's current settings (say, a lower lr) win
                    settings = optimizer_entry.constructor_arguments(self.network.optimizer.parameters)
                    for group in optimizer.param_groups:
                        group.update({k: v for k, v in settings.items() if k in group})
            else:
                self.log(f"the checkpoint's optimizer was {checkpoint.get('optimizer_type')}; "
                         f"{self.network.optimizer.type} starts with fresh state")
            if scheduler is not None and checkpoint.get("scheduler"):
                scheduler.load_state_dict(checkpoint["scheduler"])
            generator.set_state(checkpoint["generator"])
            torch.set_rng_state(checkpoint["torch_rng"])
            start_epoch = int(checkpoint["epoch"]) + 1
            self.history = list(checkpoint.get("history", []))
            best = float(checkpoint.get("best", math.inf))
            self.log(f"resumed from {self.resume_from} after epoch {checkpoint['epoch']}")
        self._prepare_run_dir(normalization)
        patience_left = config.early_stopping_patience
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=config.mixed_precision)
        status, message = "finished", ""
        epoch = start_epoch - 1
        try:
            for epoch in range(start_epoch, config.epochs + 1):
                started = time.perf_counter()
                model.train()
                total_loss, total_correct, total_seen = 0.0, 0, 0
                window_start, window_seen = time.perf_counter(), 0
                shard = (self.context.rank, self.context.world)
                for index, (x, y) in enumerate(train.batches(config.batch_size, generator=generator, shard=shard,
                                                             augment=bool(config.crop_padding or config.horizontal_flip))):
                    if self.control.cancel.is_set():
                        raise _Stopped()
                    if not self.control.resume.is_set():
                        self.control.resume.wait()
                        if self.control.cancel.is_set():
                            raise _Stopped()

                    def closure():
                        """One forward and backward pass; LBFGS calls it again during its step."""
                        optimizer.zero_grad(set_to_none=True)
                        with autocast:
                            closure.output = model(x)
                            value = loss(closure.output, y)
                        value.backward()
                        return value

                    value = closure()
                    output = closure.output
                    batch_loss = float(value.detach())
                    if not math.isfinite(batch_loss):
                        lr = optimizer.param_groups[0]["lr"]
                        raise TrainingError(
                            f"the loss became {batch_loss} at epoch {epoch}, batch {index + 1}: training stopped. "
                            f"Lower the learning rate (now {lr:g}) or turn on gradient clipping; the last good "
                            "checkpoint is kept")
                    if config.gradient_clip > 0:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), config.gradient_clip)
                    if closure_needed:
                        optimizer.step(closure)
                    else:
                        optimizer.step()
                    if scheduler is not None and config.lr_schedule == "OneCycleLR":
                        scheduler.step()
                    count = len(y)
                    total_loss += batch_loss * count
                    total_seen += count
                    window_seen += count
                    correct = accuracy_count(output.detach(), y) if loss.num_classes is not None else None
                    if correct is not None:
                        total_correct += correct
                    now = time.perf_counter()
                    self.on_event(BatchEvent(epoch, index + 1, steps, batch_loss,
                                             total_correct / total_seen if correct is not None else None,
                                             window_seen / max(now - window_start, 1e-9)))
                    if now - window_start > 2.0:
                        window_start, window_seen = now, 0
                total_loss, total_correct, total_seen = _all_reduce([total_loss, total_correct, total_seen],
                                                                    self.context, self.device)
                train_loss = total_loss / total_seen
                train_accuracy = total_correct / total_seen if loss.num_classes is not None else None
                validation_loss = validation_accuracy = None
                if validation is not None:  # every rank measures the whole set: the same figures everywhere
                    validation_loss, validation_accuracy = evaluate_loss(trained, validation, loss, config.batch_size,
                                                                         autocast)
                monitored = validation_loss if validation_loss is not None else train_loss
                lr = optimizer.param_groups[0]["lr"]
                if scheduler is not None and config.lr_schedule != "OneCycleLR":
                    if config.lr_schedule == "ReduceLROnPlateau":
                        scheduler.step(monitored)
                    else:
                        scheduler.step()
                event = EpochEvent(epoch, config.epochs, train_loss, train_accuracy, validation_loss,
                                   validation_accuracy, lr, time.perf_counter() - started)
                self.history.append(asdict(event))
                improved = monitored < best
                best = min(best, monitored)
                self._save_epoch(trained, optimizer, scheduler, generator, epoch, best, improved)
                self.on_event(event)
                if config.early_stopping_patience and validation_loss is not None:
                    patience_left = config.early_stopping_patience if improved else patience_left - 1
                    if patience_left <= 0:
                        status = "early_stopped"
                        message = (f"early stopping after epoch {epoch}: the validation loss did not improve for "
                                   f"{config.early_stopping_patience} epochs")
                        break
        except _Stopped:
            status, message = "stopped", f"stopped during epoch {epoch}"
            epoch -= 1
        except torch.cuda.OutOfMemoryError:
            model = trained = optimizer = None  # noqa: F841 - free the memory before reporting
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise TrainingError(f"the GPU ran out of memory at batch size {config.batch_size}: try "
                                f"{max(1, config.batch_size // 2)}, or train on the CPU") from None
        self._write_summary(status, message)
        if self.context.active:
            import torch.distributed as dist

            dist.destroy_process_group()
        return TrainingResult(status, epoch, self.history, self.run_dir, message, trained, normalization)

    # -- the run folder -----------------------------------------------------------------
    def _prepare_run_dir(self, normalization: Normalization) -> None:
        if self.run_dir is None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        network_format.save(self.network, self.run_dir / "network.json")
        atomic_write_text(self.run_dir / "config.json", json.dumps({
            "training": self.config.to_dict(),
            "train_set": self.train_set.name,
            "validation_set": self.validation_set.name if self.validation_set is not None else None,
            "classes": self.train_set.classes,
            "normalization": asdict(normalization),
            "torch": torch.__version__,
        }, indent=2))

    def _save_epoch(self, model, optimizer, scheduler, generator, epoch: int, best: float, improved: bool) -> None:
        if self.run_dir is None:
            return
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        checkpoint = {
            "format": "pytorchgui.checkpoint",
            "version": CHECKPOINT_VERSION,
            "epoch": epoch,
            "model": weights,
            "optimizer": optimizer.state_dict(),
            "optimizer_type": self.network.optimizer.type,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "config": self.config.to_dict(),
            "history": self.history,
            "best": best,
        }
        atomic_write(self.run_dir / "checkpoint.pt", lambda stream: stream.write(_serialise(checkpoint)))
        atomic_write(self.run_dir / "last_weights.pt", lambda stream: stream.write(_serialise(weights)))
        if improved:
            atomic_write(self.run_dir / "best_weights.pt", lambda stream: stream.write(_serialise(weights)))
        self._write_metrics()

    def _write_metrics(self) -> None:
        buffer = io.StringIO()
        columns = ["epoch", "train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "learning_rate",
                   "seconds"]
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in self.history:
            writer.writerow(row)
        atomic_write_text(self.run_dir / "metrics.csv", buffer.getvalue())

    def _write_summary(self, status: str, message: str) -> None:
        if self.run_dir is None:
            return
        last = self.history[-1] if self.history else {}
        atomic_write_text(self.run_dir / "summary.json", json.dumps({
            "status": status, "message": message, "epochs_done": len(self.history), **{
                key: last.get(key) for key in ("train_loss", "train_accuracy", "validation_loss",
                                               "validation_accuracy")}}, indent=2))


class _Stopped(Exception):
    pass


@torch.no_grad()
def evaluate_loss(model, batches: InMemoryBatches, loss: LossAdapter, batch_size: int, autocast=None):
    """(mean loss, accuracy or None) of `model` over all `batches`, in eval mode."""
    was_training = model.training
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in batches.batches(batch_size, shuffle=False):
        if autocast is not None:
            with autocast:
                output = model(x)
        else:
            output = model(x)
        total_loss += float(loss(output.float(), y)) * len(y)
        if loss.num_classes is not None:
            correct += accuracy_count(output, y)
        seen += len(y)
    model.train(was_training)
    return total_loss / seen, (correct / seen if loss.num_classes is not None else None)


def list_runs(base: Path) -> list[dict[str, Any]]:
    """Every run folder under `base`, newest first, with its summary (for the runs table)."""
    runs = []
    for folder in sorted((p for p in base.iterdir() if p.is_dir()), reverse=True) if base.is_dir() else []:
        try:
            summary = json.loads((folder / "summary.json").read_text())
        except (OSError, ValueError):
            summary = {"status": "incomplete"}
        runs.append({"path": folder, "name": folder.name, **summary})
    return runs


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    try:
        with open(run_dir / "metrics.csv", newline="") as stream:
            return [{k: (float(v) if v not in ("", None) else None) for k, v in row.items()}
                    for row in csv.DictReader(stream)]
    except OSError:
        return []
