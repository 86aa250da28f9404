"""Training: the options (declared once), the network file that carries a recipe of them,
the job protocol, the Trainer and its parts (losses, devices, distributed set-up), run
folders, memory estimates, the LR finder and the metrics of evaluation. Builds on `graph`
and `data`; never imports interop.

Until this package existed, `pytorchgui.core.training` was the Trainer's module; scripts
that import the Trainer's old names from here keep working (they now live in `trainer`,
`losses` and `devices`).
"""
from __future__ import annotations

_TRAINER_NAMES = ("BatchEvent", "EpochEvent", "LogEvent", "SettingsChangedEvent", "Trainer", "TrainingConfig",
                  "TrainingControl", "TrainingError", "TrainingResult", "list_runs", "load_checkpoint", "read_metrics")


def __getattr__(name: str):
    # Each home is imported on first use only (lazily: importing the package must not load
    # torch and the Trainer), spelled out so that tests/core/test_import_layers.py sees it.
    if name in _TRAINER_NAMES:
        from pytorchgui.core.training import trainer as home
    elif name == "available_devices":
        from pytorchgui.core.training import devices as home
    elif name == "make_loss":
        from pytorchgui.core.training import losses as home
    else:
        raise AttributeError(f"module 'pytorchgui.core.training' has no attribute {name!r}")
    return getattr(home, name)
