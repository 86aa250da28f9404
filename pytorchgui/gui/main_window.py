"""The main window: the Qt Designer layout from ui/main_window.ui, its menus and tabs."""
from __future__ import annotations

from pathlib import Path

from PyQt5 import QtCore, QtGui, QtWidgets, uic

from pytorchgui import __version__, paths, settings
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.shapes import describe_outputs
from pytorchgui.core.wording import counted
from pytorchgui.core.workspace import Workspace
from pytorchgui.gui import dialogs
from pytorchgui.gui.document import NetworkDocument, autosave_info, discard_autosave
from pytorchgui.gui.network_tab import NETWORK_FILE_FILTER, NetworkTab
from pytorchgui.gui.widgets import ElidedLabel, app_icon

START_EXAMPLE = "lenet5.json"


def load_ui(name: str, widget: QtWidgets.QWidget) -> None:
    """Fill `widget` from ui/NAME.ui (loaded at run time, so designers edit the .ui only)."""
    uic.loadUi(str(paths.ui_dir() / f"{name}.ui"), widget)


class MainWindow(QtWidgets.QMainWindow):
    """The window and its five tabs.

    With lazy=True (how the app starts) the window paints first and only then imports
    torch and builds the Data, Train and Evaluation tabs and the first shape inference:
    torch alone takes seconds to import, and a window that appears at once is what tells
    the user the app started. Tests build everything at once (lazy=False).
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, open_example: bool = True, lazy: bool = False,
                 example_data: bool = False):
        super().__init__(parent)
        if not lazy:  # the Network tab's first shape check runs torch on this thread at once
            from pytorchgui.gui.workers import keep_gui_thread_serial

            keep_gui_thread_serial()
        load_ui("main_window", self)
        self.setWindowIcon(app_icon())  # the tabs' notifications (the tray) take it from here
        self.setAcceptDrops(True)
        self._build_status_bar()
        self.document = NetworkDocument(self)
        self.workspace = Workspace(self.document)
        self.network_tab = NetworkTab(self.document, defer_first_refresh=lazy)
        self._place(self.networkTab, self.network_tab)
        self.data_tab = self.train_tab = self.evaluation_tab = self.experiments_tab = None
        self._example_data = example_data and open_example  # the built-in shapes loaded at start
        self._connect_actions()
        self.document.path_changed.connect(self._update_title)
        self.document.modified_changed.connect(self._update_title)
        self.network_tab.report_changed.connect(self._report_changed)
        self.network_tab.template_requested.connect(self.start_from_template)
        self._update_title()
        self._update_recent_menu()
        if open_example:
            self.document.open_example(paths.example_networks_dir() / START_EXAMPLE)
            self.statusBar().showMessage(f"Opened the example {START_EXAMPLE}: look around, or File > New", 8000)
        if lazy:
            for container in (self.dataTab, self.trainTab, self.experimentsTab, self.evaluationTab):
                label = QtWidgets.QLabel("Loading PyTorch…")
                label.setAlignment(QtCore.Qt.AlignCenter)
                self._place(container, label)
            self._first_paint_watch = _FirstPaint(self, self._import_in_background)
        else:
            self.finish_startup()

    def _build_status_bar(self) -> None:
        """The open network's size in a place of its own at the right: the messages of the
        actions (Fit, Freeze, Import) then stay their time instead of being replaced at the
        next shape check. A message too long for the bar is cut at its edge: the bar's
        tooltip holds it whole."""
        self.report_label = ElidedLabel("reportLabel", "The open network's parameters and output shape, after its "
                                                       "last change")
        self.report_label.setContentsMargins(16, 0, 6, 0)  # apart from a message that runs up to it
        status_bar = self.statusBar()
        status_bar.addPermanentWidget(self.report_label)
        status_bar.messageChanged.connect(status_bar.setToolTip)

    @staticmethod
    def _place(container: QtWidgets.QWidget, content: QtWidgets.QWidget) -> None:
        layout = container.layout()
        if layout is None:
            layout = QtWidgets.QVBoxLayout(container)
            layout.setContentsMargins(0, 0, 0, 0)
        while layout.count():
            old = layout.takeAt(0).widget()
            old.hide()
            old.deleteLater()
        layout.addWidget(content)

    def _import_in_background(self) -> None:
        """Import torch and the tabs' modules on a worker thread, so that the window, painted
        already, keeps answering (moves, resizes, the Network tab) while they load."""
        from pytorchgui.gui.workers import run_in_thread

        snapshot = self.network_tab.network.copy()  # taken here, on the GUI thread

        def load() -> None:
            import importlib
            import importlib.util

            for module in ("torch", "pyqtgraph", "pytorchgui.core.data.datasets", "pytorchgui.core.training.trainer",
                           "pytorchgui.core.training.metrics", "pytorchgui.core.graph.shapes"):
                importlib.import_module(module)
            if importlib.util.find_spec("captum") is not None:  # the Try it pad's saliency: 0.6 s to import
                importlib.import_module("captum.attr")
            # The first use of torch's meta kernels costs over a second; spend it here, and
            # leave the open network's shapes in the cache for the tab's first refresh.
            from pytorchgui.core.graph.shapes import infer_shapes

            infer_shapes(snapshot)

        def failed(error: Exception) -> None:
            raise error  # the global hook shows and logs it

        self._warm_up = run_in_thread(self, load, lambda _: self.finish_startup(), failed)

    def finish_startup(self) -> None:
        """Build the tabs that need torch, and check the open network's shapes."""
        if self.data_tab is not None:
            return
        from pytorchgui.gui.workers import keep_gui_thread_serial

        keep_gui_thread_serial()
        from pytorchgui.gui.data_tab import DataTab
        from pytorchgui.gui.evaluation_tab import EvaluationTab
        from pytorchgui.gui.experiments_tab import ExperimentsTab
        from pytorchgui.gui.train_tab import TrainTab

        self.data_tab = DataTab(self.workspace)
        self.train_tab = TrainTab(self.workspace)
        self.evaluation_tab = EvaluationTab(self.workspace)
        self.experiments_tab = ExperimentsTab(self.workspace)
        for container, content in ((self.dataTab, self.data_tab), (self.trainTab, self.train_tab),
                                   (self.experimentsTab, self.experiments_tab), (self.evaluationTab, self.evaluation_tab)):
            self._place(container, content)
        from pytorchgui.gui.inside_view import InsideView

        self.network_tab.add_inside_view(InsideView(self.workspace))
        self.train_tab.change_network_requested.connect(self.show_network_settings)
        self.train_tab.builtin_data_requested.connect(self.data_tab.open_builtin_shapes)
        self.train_tab.layer_warnings_changed.connect(self.network_tab.scene.show_training_warnings)
        self._connect_experiments()
        self.network_tab.schedule_refresh()
        if self._example_data and not self.workspace.datasets:
            self.data_tab.open_builtin_shapes()  # the first Start trains the example at once

    def _connect_experiments(self) -> None:
        """Sweep this… in the Train tab's options and the inspector adds to the Experiments
        tab's space; a trial opened there becomes the current network and settings."""
        self.train_tab.options.sweep_requested.connect(self.experiments_tab.sweep_this)
        self.network_tab.inspector.sweep_requested.connect(self.experiments_tab.sweep_this)
        self.experiments_tab.trial_open_requested.connect(self.open_trial)

    def open_trial(self, run: Path) -> bool:
        """A sweep's trial as an untitled network (saving never overwrites the trial's copy),
        its training options in the Train tab; this machine's device and threads stay."""
        from pytorchgui.core.training.options import TrainingConfig
        from pytorchgui.core.training.runs import RunFolder
        from pytorchgui.core.training.sweeps import MACHINE_OPTIONS

        if not self.maybe_save():
            return False
        folder = RunFolder(run)
        try:
            network = folder.load_network()
            options = TrainingConfig.from_dict(folder.read_config().get("training", {}))
        except PyTorchGUIError as error:
            dialogs.show_error(self, "Cannot open the trial", str(error))
            return False
        machine = {name: getattr(self.workspace.training_config, name) for name in MACHINE_OPTIONS}
        experiment = run.parent.parent.name
        # "lenet5_trial-0003.json": a run trained from it is named with its own start time, not a second one
        self.document.open_untitled(network, f"{RunFolder.without_stamp(experiment)}_{run.name}.json", "trial")
        self.workspace.set_training_config(options.replace(**machine))
        trained = folder.file(RunFolder.LAST_WEIGHTS).is_file()  # a pruned or failed trial may have none
        if trained:
            self.evaluation_tab.offer_run(run, f"Trial {run.name} of {experiment} (best)")
        self.statusBar().showMessage(f"Opened {run.name} of {experiment}: its network and training options"
                                     + ("; the Evaluation tab measures its weights" if trained else ""), 8000)
        return True

    def show_network_settings(self) -> None:
        """The Network tab with the inspector on the network's input, loss and optimizer."""
        self.tabs.setCurrentWidget(self.networkTab)
        self.network_tab.scene.clearSelection()
        self.network_tab.inspector_dock.show()
        self.network_tab.inspector_dock.raise_()

    # -- menus -----------------------------------------------------------------------
    def _connect_actions(self) -> None:
        self.actionNew.triggered.connect(self.new_file)
        self.actionNewFromTemplate = QtWidgets.QAction("New from &template…", self)
        self.actionNewFromTemplate.setShortcut(QtGui.QKeySequence("Ctrl+Shift+N"))
        self.actionNewFromTemplate.triggered.connect(self.new_from_template)
        self.menuFile.insertAction(self.actionOpen, self.actionNewFromTemplate)
        self.actionImportModel = QtWidgets.QAction("&Import model (torchvision, timm)…", self)
        self.actionImportModel.triggered.connect(self.import_model)
        self.menuFile.insertAction(self.actionOpen, self.actionImportModel)
        self.actionImportOnnx = QtWidgets.QAction("Import &ONNX model…", self)
        self.actionImportOnnx.triggered.connect(lambda: self.import_onnx())
        self.menuFile.insertAction(self.actionOpen, self.actionImportOnnx)
        self.actionOpen.triggered.connect(lambda: self.open_file())
        self.actionSave.triggered.connect(self.save_file)
        self.actionSaveAs.triggered.connect(self.save_file_as)
        self.actionQuit.triggered.connect(self.close)
        self.actionAbout.triggered.connect(self.show_about)
        self.actionDelete.triggered.connect(self.network_tab.delete_selection)
        self.actionRename.triggered.connect(self.network_tab.rename_current)
        self.actionFitToView.triggered.connect(self.network_tab.view.fit)
        self.actionTidyLayout.triggered.connect(self.network_tab.tidy_layout)
        stack = self.document.undo_stack
        self.actionUndo = stack.createUndoAction(self, "&Undo")
        self.actionUndo.setShortcut(QtGui.QKeySequence.Undo)
        self.actionRedo = stack.createRedoAction(self, "&Redo")
        # the platform's redo keys plus Ctrl+Y, each once: a key bound twice is ambiguous and does nothing
        redo_keys = QtGui.QKeySequence.keyBindings(QtGui.QKeySequence.Redo) + [QtGui.QKeySequence("Ctrl+Y")]
        self.actionRedo.setShortcuts(list({key.toString(): key for key in redo_keys}.values()))
        first = self.menuEdit.actions()[0] if self.menuEdit.actions() else None
        self.menuEdit.insertAction(first, self.actionUndo)
        self.menuEdit.insertAction(first, self.actionRedo)
        self.menuEdit.insertSeparator(first)
        for name, text, keys, slot in (
                ("actionCut", "Cu&t", QtGui.QKeySequence.Cut, self.network_tab.cut_selection),
                ("actionCopy", "&Copy", QtGui.QKeySequence.Copy, self.network_tab.copy_selection),
                ("actionPaste", "&Paste", QtGui.QKeySequence.Paste, lambda: self.network_tab.paste()),
                ("actionDuplicate", "D&uplicate", QtGui.QKeySequence("Ctrl+D"), self.network_tab.duplicate_selection),
                ("actionSelectAll", "Select &All", QtGui.QKeySequence.SelectAll, self.network_tab.select_all)):
            action = QtWidgets.QAction(text, self)
            action.setShortcut(keys)
            action.triggered.connect(slot)
            setattr(self, name, action)
            self.menuEdit.insertAction(first, action)
        self.menuEdit.insertSeparator(first)
        self.menuView.addSeparator()
        for dock, keys in ((self.network_tab.palette_dock, "Ctrl+Shift+P"), (self.network_tab.inspector_dock,
                                                                               "Ctrl+Shift+I")):
            action = dock.toggleViewAction()
            action.setShortcut(QtGui.QKeySequence(keys))
            self.menuView.addAction(action)
        self.menuView.addAction("Reset the Network tab's layout", self.network_tab.reset_layout)
        self.menuView.addSeparator()
        for text, factor, keys in (("Zoom &In", 1.25, QtGui.QKeySequence.ZoomIn),
                                   ("Zoom &Out", 0.8, QtGui.QKeySequence.ZoomOut)):
            action = self.menuView.addAction(text)
            action.setShortcut(keys)
            action.triggered.connect(lambda _=False, f=factor: self.network_tab.view.zoom(f))
        for text, format_name, suffix in (("&Python module…", "python", "py"), ("&ONNX…", "onnx", "onnx"),
                                          ("&torch.export program (.pt2)…", "pt2", "pt2")):
            action = self.menuExport.addAction(text)
            action.triggered.connect(lambda _=False, f=format_name, s=suffix: self.export_network(f, s))
        self.actionExportNormalization = self.menuExport.addAction("Include the training data's &normalisation")
        self.actionExportNormalization.setCheckable(True)
        self.actionExportNormalization.setChecked(True)
        self.actionExportNormalization.setToolTip("The exported model then takes raw input (images as pixels in "
                                                  "[0, 1]), normalised as in training, and gives a regression "
                                                  "target in its own units")
        self.menuExport.addSeparator()
        export = self.menuExport.addAction("Model &summary as CSV…")
        export.triggered.connect(self.network_tab.export_summary)

    def _update_recent_menu(self) -> None:
        self.menuOpenRecent.clear()
        files = settings.recent_files()
        for index, path in enumerate(files, start=1):
            action = self.menuOpenRecent.addAction(f"&{index} {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_file(p))
        if not files:
            self.menuOpenRecent.addAction("No recent files").setEnabled(False)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.display_name}[*] — PyTorchGUI")
        self.setWindowModified(self.document.is_modified)

    def _report_changed(self, report) -> None:
        if report.ok:
            self.report_label.setText(f"{report.total_parameters:,} parameters, {describe_outputs(report)}")
            self.report_label.setStyleSheet("")
        else:  # no count of a network that does not compile: where to read why
            count = len(report.problems)
            self.report_label.setText(f"{counted(count, 'problem')}: the Network tab lists {'it' if count == 1 else 'them'}")
            self.report_label.setStyleSheet("color: #c92a2a")

    def export_network(self, format_name: str, suffix: str, path: str | None = None) -> bool:
        """Export the open network; ONNX and .pt2 carry the weights of the last training run,
        and when the network has changed since, the user picks the run's network or the
        edited one without weights."""
        from pytorchgui.core.interop.export import export

        if path is None:
            start = str(Path.home() / f"{self.document.display_name.split('.')[0]}.{suffix}")
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export network", start, f"*.{suffix}")
            if not path:
                return False
        network, weights, normalization, target = self.network_tab.network, None, None, None
        try:
            trained = self._last_trained_model()
            if trained is not None and self.actionExportNormalization.isChecked():
                normalization, target = trained.normalization, trained.target_normalization
            if trained is not None:
                if format_name != "python":
                    network, weights = self._network_for_weights(network, trained)
                    if network is None:
                        return False
            export(network, format_name, path, weights, normalization, target)
        except PyTorchGUIError as error:
            dialogs.show_error(self, "Cannot export", str(error))
            return False
        carried = f" with the weights of {weights.parent.name}" if weights else ""
        self.statusBar().showMessage(f"Exported {path}{carried}", 8000)
        return True

    def _last_trained_model(self):
        """The last run of this session with its best weights, as `pytorchgui export RUN`
        exports it; None before the first run."""
        from pytorchgui.core.training.trained_model import open_trained_model

        result = self.workspace.last_result
        if result is None or result.run_dir is None:
            return None
        return open_trained_model(result.run_dir)

    def _network_for_weights(self, edited, trained):
        """(network, weights) to export: the edited network with the run's weights while
        they still belong to it; else what the user picks, (None, None) if cancelled."""
        reason = trained.mismatch(edited)
        if reason is None:
            return edited, trained.weights
        choice = dialogs.ask_mismatched_export(self, reason, trained.name)
        if choice == "run":
            return trained.network, trained.weights
        return (edited, None) if choice == "edited" else (None, None)

    # -- files -----------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False means the user cancelled."""
        if not self.document.is_modified:
            return True
        answer = dialogs.ask_save_changes(self, self.document.display_name)
        if answer == QtWidgets.QMessageBox.Save:
            return self.save_file()
        return answer == QtWidgets.QMessageBox.Discard

    def new_file(self) -> None:
        if self.maybe_save():
            self.document.new()
            self.statusBar().showMessage("New network: drag a layer from the palette onto the canvas", 5000)

    def new_from_template(self) -> QtWidgets.QDialog | None:
        """Choose an example network to start from; it opens as an untitled copy."""
        from pytorchgui.gui.template_dialog import TemplateDialog

        if not self.maybe_save():
            return None
        dialog = TemplateDialog(paths.example_networks_dir(), self, first=START_EXAMPLE)
        dialog.accepted.connect(lambda: self._start_from(dialog.chosen()))
        dialog.open()
        return dialog

    def _start_from(self, template) -> None:
        if template is not None:
            self._open_template(template.path)

    def start_from_template(self, path: Path) -> bool:
        """A template double-clicked in the palette: a new untitled network from it."""
        if not self.maybe_save():
            return False
        self._open_template(Path(path))
        return True

    def _open_template(self, path: Path) -> None:
        self.document.open_example(path)
        self.statusBar().showMessage(f"New network from the template {path.stem}", 5000)

    def import_model(self) -> QtWidgets.QDialog | None:
        from pytorchgui.gui.import_dialog import ImportDialog

        if not self.maybe_save():
            return None
        dialog = ImportDialog(self)
        dialog.accepted.connect(lambda: self.import_chosen(dialog.model_name(), dialog.weights_path(),
                                                           dialog.pretrained_box.isChecked()))
        dialog.open()
        return dialog

    def import_chosen(self, name: str, weights: str = "", pretrained: bool = False) -> bool:
        """Import torchvision's `name` (timm's with timm:NAME) as an untitled network; with
        `weights` (a file) or `pretrained` (downloaded, with a progress bar), convert them
        and set them as the weights the Train tab starts from."""
        from pytorchgui.core.interop.importers import convert_weights, import_torchvision, read_state_dict

        source, _, timm_name = name.partition(":") if name.startswith("timm:") else ("torchvision", "", name)
        state = self._download_pretrained(timm_name, source) if pretrained and not weights else None
        if pretrained and not weights and state is None:
            return False

        def read():
            if source == "timm":
                from pytorchgui.core.interop.timm_import import import_timm

                imported = import_timm(timm_name)[0]
            else:
                imported = import_torchvision(name)
            converted = imported.own_weights  # None unless the network holds constants its file cannot
            if weights or state is not None:
                converted = convert_weights(imported, read_state_dict(weights) if weights else state,
                                            source=weights or f"{name}'s pretrained weights")
            return imported.network, converted, imported.notes

        return self._open_imported(read, timm_name, name if source == "timm" else f"torchvision:{name}")

    def _download_pretrained(self, name: str, source: str = "torchvision") -> dict | None:
        """torchvision's (or timm's) pretrained weights of `name` on a worker thread, with a
        progress dialog (from the cache at once after the first time); None if it failed or
        was cancelled (the failure is shown)."""
        from pytorchgui.core.interop.importers import download_weights
        from pytorchgui.core.interop.timm_import import pretrained_weights
        from pytorchgui.core.training.tasks import Cancelled, Progress
        from pytorchgui.gui.workers import Task

        progress = QtWidgets.QProgressDialog(f"Downloading the pretrained weights of {name}…", "Cancel", 0, 0, self)
        progress.setWindowTitle("Pretrained weights")
        progress.setMinimumDuration(300)
        outcome: dict = {}

        def job(control):
            def on_bytes(done: int, total: int) -> None:
                control.report(Progress(done, total))
                control.checkpoint()  # a cancel stops the download between chunks

            if source == "timm":  # timm fetches through the Hugging Face Hub, which reports no bytes here
                return pretrained_weights(name)
            return download_weights(name, on_bytes=on_bytes)

        def reported(events: list) -> None:
            last = events[-1]
            if isinstance(last, Progress) and last.total:
                progress.setMaximum(last.total // 1024)
                progress.setValue(last.done // 1024)
                progress.setLabelText(f"Downloading the pretrained weights of {name}: {last.done / 2**20:.0f} of "
                                      f"{last.total / 2**20:.0f} MB")

        loop = QtCore.QEventLoop(self)
        task = Task(self, job, 100)
        task.reported.connect(reported)
        task.finished.connect(lambda state: (outcome.update(state=state), loop.quit()))
        task.failed.connect(lambda error: (outcome.update(error=error), loop.quit()))
        progress.canceled.connect(task.control.stop)
        task.start()
        loop.exec_()
        progress.close()
        error = outcome.get("error")
        if isinstance(error, Cancelled):
            return None
        if isinstance(error, PyTorchGUIError):
            dialogs.show_error(self, "Cannot download the weights", str(error))
            return None
        if error is not None:
            raise error  # a bug: the global hook shows and logs it
        return outcome.get("state")

    def import_onnx(self, path: str | None = None) -> bool:
        """An ONNX file as an untitled network; its weights become the ones training starts from."""
        from pytorchgui.core.interop.onnx_import import import_onnx

        if path is None:
            if not self.maybe_save():
                return False
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Import an ONNX model", str(Path.home()),
                                                            "ONNX models (*.onnx);;All files (*)")
            if not path:
                return False
        return self._open_imported(lambda: (*import_onnx(path), []), Path(path).stem, Path(path).name)

    def _open_imported(self, read, name: str, described: str) -> bool:
        """Run `read()` -> (network, weights or None, notes); open the network untitled and
        keep its weights where the Train tab starts from them. A failure changes nothing."""
        from pytorchgui.core.atomic import atomic_write
        from pytorchgui.core.training.runs import torch_bytes

        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.WaitCursor)
        try:
            network, weights, notes = read()
            weights_path = None
            if weights is not None:
                weights_path = paths.data_dir() / "imported" / f"{name}_weights.pt"
                weights_path.parent.mkdir(exist_ok=True)
                atomic_write(weights_path, lambda stream: stream.write(torch_bytes(weights)))
        except PyTorchGUIError as error:
            dialogs.show_error(self, "Cannot import the model", str(error))
            return False
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        self.document.open_untitled(network, f"{name}.json", "imported")
        if weights_path is not None and self.train_tab is not None:
            self.train_tab.options.fields["initial_weights"].set_value(str(weights_path))
        self.statusBar().showMessage(f"Imported {described}: {counted(len(network), 'node')}"
                                     + (", training starts from its weights" if weights_path else "")
                                     + (f" ({'; '.join(notes)})" if notes else ""), 10000)
        return True

    def open_file(self, path: str | None = None) -> bool:
        if not self.maybe_save():
            return False
        if path is None:
            start = str(self.document.path.parent) if self.document.path else str(paths.example_networks_dir())
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open network", start, NETWORK_FILE_FILTER)
            if not path:
                return False
        try:
            self.document.open(path)
        except PyTorchGUIError as error:
            dialogs.show_error(self, "Cannot open the network", f"{error}\n\nThe current network is unchanged.")
            if not Path(path).exists():
                settings.remove_recent_file(path)
            self._update_recent_menu()
            return False
        self._update_recent_menu()
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def save_file(self) -> bool:
        if self.document.path is None:
            return self.save_file_as()
        return self._save_to(self.document.path)

    def save_file_as(self) -> bool:
        start = str(self.document.path or Path.home() / self.document.file_name)
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save network", start, NETWORK_FILE_FILTER)
        if not path:
            return False
        if not path.lower().endswith(".json"):
            path += ".json"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except OSError as error:
            dialogs.show_error(self, "Cannot save", f"Cannot write {path}: {error.strerror or error}\n\n"
                                                    "The file on disk is unchanged.")
            return False
        self._update_recent_menu()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def offer_recovery(self) -> None:
        """After a crash, offer the autosaved network (called once the window is shown)."""
        info = autosave_info()
        if info is None:
            return
        original = info.get("original_path") or "an untitled network"
        answer = QtWidgets.QMessageBox.question(
            self, "Recover unsaved work?",
            f"PyTorchGUI did not close normally. An autosave of {original} with unsaved changes exists.\n\n"
            "Recover it?", QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.No, QtWidgets.QMessageBox.Yes)
        if answer == QtWidgets.QMessageBox.Yes:
            try:
                self.document.recover()
            except PyTorchGUIError as error:
                dialogs.show_error(self, "Cannot recover", str(error))
                return
            self.statusBar().showMessage("Recovered the autosaved network: save it to keep it", 8000)
        discard_autosave()

    # -- window events ---------------------------------------------------------------
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if self.train_tab is not None and self.train_tab.task is not None:
            answer = QtWidgets.QMessageBox.question(
                self, "Training is running", "Stop the training and quit? The last finished epoch's checkpoint is "
                "kept in the run folder.", QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.No)
            if answer != QtWidgets.QMessageBox.Yes:
                event.ignore()
                return
            self.train_tab.stop()
            self.train_tab.wait()
        if self.experiments_tab is not None and not self._stop_sweep_to_close():
            event.ignore()
            return
        if self.maybe_save():
            discard_autosave()
            self.network_tab.save_layout()
            event.accept()
        else:
            event.ignore()

    def _stop_sweep_to_close(self) -> bool:
        """A running sweep is stopped (its running trial marked failed) before the window
        closes, if the user agrees; False keeps the window open."""
        tab = self.experiments_tab
        if tab.running:
            answer = QtWidgets.QMessageBox.question(
                self, "A sweep is running", "Stop the sweep and quit? Its finished trials stay; Resume in the "
                "Experiments tab continues it.", QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.No)
            if answer != QtWidgets.QMessageBox.Yes:
                return False
            tab.stop()
            tab.wait()
        tab.shutdown()
        return True

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if any(url.toLocalFile().lower().endswith(".json") for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.toLocalFile().lower().endswith(".json"):
                event.acceptProposedAction()
                self.open_file(url.toLocalFile())
                return

    def show_about(self) -> None:
        import torch  # imported here so that painting the window never waits for torch

        QtWidgets.QMessageBox.about(
            self,
            "About PyTorchGUI",
            f"<h3>PyTorchGUI {__version__}</h3>"
            "<p>Design, train and evaluate neural networks without writing code.</p>"
            f"<p>PyTorch {torch.__version__}<br>Qt {QtCore.QT_VERSION_STR}, "
            f"PyQt {QtCore.PYQT_VERSION_STR}</p>",
        )


class _FirstPaint(QtCore.QObject):
    """Calls `then` once, on the next event-loop turn after the window's first paint."""

    def __init__(self, window: QtWidgets.QWidget, then):
        super().__init__(window)
        self.then = then
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QtCore.QEvent.Paint:
            watched.removeEventFilter(self)
            QtCore.QTimer.singleShot(0, self.then)
        return False
