"""Whether data matches what a model takes: the one check behind the Evaluation tab's offer
(trained weights and the sets they can be measured on), the Train tab's Validation (a
training set and the sets that can validate it) and a run's own check of its validation set.

A set matches when its samples have the same shape and dtype, its target is of the same
task, its classes are the same names in the same order, and it gives the same number of
values per sample (classes, or regression targets). A set of the same shape with other
classes is the trap: it runs, and its labels are scored against other classes.
"""
from __future__ import annotations

from dataclasses import dataclass

from pytorchgui.core.data.samples import input_dtype


@dataclass(frozen=True)
class ExpectedData:
    """What data a model takes, and how a problem with other data names it and what to do."""

    takes: str  # the start of "… of shape [1, 28, 28]": "the network takes input"
    learned: str  # the end of "… classes (a, b)": "the network was trained on"
    gives: str  # the start of "… 10 value(s) per sample": "the network gives"
    remedy: str  # what to do, after every problem
    shape: list[int] | None
    dtype: str
    task: str | None  # "classification", "regression", or None when nothing recorded it
    classes: list[str] | None
    output_size: int | None  # values per sample, None when unknown

    @classmethod
    def of_training_set(cls, dataset, remedy: str) -> "ExpectedData":
        """What a run on `dataset` takes: data with its samples and its target."""
        named = f"the training set {dataset.name}"
        return cls(f"{named} has samples", f"{named} has", f"{named} has", remedy,
                   list(dataset.sample_shape), input_dtype(dataset),
                   "classification" if dataset.is_classification else "regression", dataset.classes,
                   dataset.output_size)

    def problem(self, dataset) -> str | None:
        """Why `dataset` does not match, in a sentence that ends with the remedy; None when it does."""
        reason = self._mismatch(dataset)
        return f"{reason}: {self.remedy}" if reason else None

    def _mismatch(self, dataset) -> str | None:
        name = dataset.name
        if self.shape is None or list(self.shape) != list(dataset.sample_shape):
            return f"{self.takes} of shape {self.shape} but {name} has samples of shape {list(dataset.sample_shape)}"
        holds = input_dtype(dataset)
        if self.dtype != holds:
            return f"{self.takes} of dtype {self.dtype} but {name} holds {'token ids' if holds == 'int64' else 'numbers'}"
        if self.task == "classification" and not dataset.is_classification:
            return f"{name} has a numeric target, but {self.learned} classes ({class_names(self.classes)})"
        if self.task == "regression" and dataset.is_classification:
            return f"{name} has classes ({class_names(dataset.classes)}), but {self.learned} a numeric target"
        if self.classes is not None and dataset.classes is not None and list(self.classes) != list(dataset.classes):
            return (f"the classes of {name} ({class_names(dataset.classes)}) are not those {self.learned} "
                    f"({class_names(self.classes)}), so its labels would be scored against other classes")
        if self.output_size is not None and self.output_size != dataset.output_size:
            what = f"{dataset.num_classes} classes" if dataset.is_classification else \
                f"{dataset.output_size} target(s) per sample"
            return f"{self.gives} {self.output_size} value(s) per sample but {name} has {what}"
        return None


def class_names(classes: list[str]) -> str:
    """The first class names, and how many there are when there are more."""
    return ", ".join(classes[:4]) + (f", … ({len(classes)} classes)" if len(classes) > 4 else "")
