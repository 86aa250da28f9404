"""The optimizer's numeric hyper-parameters, editable while a run is paused.

The form is the catalogue's (the same editors, checks and red outline as everywhere),
cut down to the numbers an optimizer takes (learning rate, momentum, weight decay,
betas, ...). What differs from the running values is handed to the run when the user
resumes; it is never editable while the run goes on.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from PyQt5 import QtWidgets

from pytorchgui.core.graph.catalog import Catalog
from pytorchgui.core.graph.network import FunctionChoice
from pytorchgui.gui.forms import ParameterForm

NUMERIC = ("float", "int", "floats")


class PausedSettings(QtWidgets.QGroupBox):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__("Change while paused", parent)
        self.setObjectName("pausedSettings")
        self._layout = QtWidgets.QVBoxLayout(self)
        hint = QtWidgets.QLabel("The optimizer's settings: what you change here takes effect from the next batch "
                                "when you press Resume, and is logged and kept in the checkpoint.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(mid); font-size: 11px;")
        self._layout.addWidget(hint)
        self.form: ParameterForm | None = None
        self.running: dict[str, Any] = {}
        self.hide()

    def open_for(self, catalog: Catalog, optimizer: FunctionChoice, changed: dict[str, Any]) -> None:
        """Show the running values: the network's, with the changes made so far."""
        entry = catalog.optimizers.get(optimizer.type)
        numeric = dataclasses.replace(entry, parameters=tuple(spec for spec in entry.parameters
                                                              if spec.type in NUMERIC))
        self.running = {spec.name: {**optimizer.parameters, **changed}.get(spec.name) for spec in numeric.parameters}
        if self.form is not None:
            self.form.deleteLater()
        self.form = ParameterForm(numeric, self.running, compact=True)
        self.form.setObjectName("pausedSettingsForm")
        self._layout.addWidget(self.form)
        self.show()

    def changes(self) -> dict[str, Any] | None:
        """The values that differ from the running ones; None while a field is invalid."""
        if self.form is None:
            return {}
        if not self.form.is_valid():
            return None
        return {name: value for name, value in self.form.values().items() if value != self.running.get(name)}
