"""Training: the options (declared once), the network file that carries a recipe of them,
the job protocol, the Trainer and its parts (losses, devices, distributed set-up), run
folders, memory estimates, the LR finder and the metrics of evaluation. Builds on `graph`
and `data`; never imports interop.

Until this package existed, `pytorchgui.core.training` was the Trainer's module; scripts
that import the Trainer's names from here keep working (they now live in `trainer`).
"""
from __future__ import annotations

_TRAINER_NAMES = ("BatchEvent", "EpochEvent", "LogEvent", "SettingsChangedEvent", "Trainer", "TrainingConfig",
                  "TrainingControl", "TrainingError", "TrainingResult", "available_devices", "list_runs",
                  "load_checkpoint", "make_loss", "read_metrics")


def __getattr__(name: str):
    # Imported on first use only: importing the package must not load torch and the Trainer.
    if name in _TRAINER_NAMES:
        from pytorchgui.core.training import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'pytorchgui.core.training' has no attribute {name!r}")
