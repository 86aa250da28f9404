"""The canvas of the Network tab: nodes and arrows on a QGraphicsScene.

The scene is a projection of the network: `sync()` makes the items match the model
(adding, removing and updating by node name) and never the other way round. User
gestures (drag a node, drag from an output port to another node, Delete) are turned into
requests (signals) that the controller runs as undoable core operations; the model's
events then bring the scene up to date.
"""
from __future__ import annotations

import math
from typing import Callable

from PyQt5 import QtCore, QtGui, QtWidgets

from pytorchgui.core.graph.layout import close_up, tidy_positions
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import ShapeReport, describe_shape

NODE_WIDTH, NODE_HEIGHT = 190.0, 60.0
MERGE_WIDTH, MERGE_HEIGHT = 130.0, 50.0
SKIP_BOW = 2.2 * NODE_WIDTH / 2  # how far a link past nodes in its column bows out

CATEGORY_COLOURS = {
    "convolution": "#d0e4ff",
    "pooling": "#d3f3e1",
    "linear": "#ffe3bd",
    "normalization": "#e7dcff",
    "dropout": "#e9ecef",
    "embedding": "#d8f5a2",
    "reshape": "#fff3bf",
    "padding": "#f1f3f5",
    "recurrent": "#ffdeeb",
    "transformer": "#ffdeeb",
    "merge": "#ffc9c9",
    # tensor operations (function_db/tensor_ops.json)
    "split and slice": "#fff9db",
    "products": "#ffe8cc",
    "reductions": "#e6fcf5",
    "arithmetic": "#fce4ec",
    "with a constant": "#f3f0ff",
    "comparison and logic": "#edf2ff",
    "regularisation": "#e9ecef",
    "tensors": "#d3f9d8",
}
ACTIVATION_COLOUR = "#c5f6fa"
PALETTE_MIME = "application/x-pytorchgui-palette-entry"  # what a palette entry drags as: its key
ZOOMED_OUT = 0.35  # below this scale names cannot be read: nodes are drawn as plain boxes
# Fit zooms out no further than where the nodes' smallest text (SMALL_TEXT_POINTS, the
# type and shape lines) is this many pixels high: below that it cannot be read.
READABLE_TEXT_PIXELS = 8.0
SMALL_TEXT_POINTS = 8.5
NAME_POINTS = 9.5
ERROR_COLOUR = QtGui.QColor("#e03131")
SELECTED_COLOUR = QtGui.QColor("#1c7ed6")
TRAINING_WARNING_COLOUR = QtGui.QColor("#f08c00")  # orange: the network compiles, training found a fault
THIN_LINE = QtGui.QPen(QtGui.QColor("#495057"), 0)  # cosmetic: one pixel at any zoom


def name_font() -> QtGui.QFont:
    """The font node names are drawn in (bold, NAME_POINTS), from the application's."""
    font = QtGui.QFont(QtWidgets.QApplication.font())
    font.setPointSizeF(NAME_POINTS)
    font.setBold(True)
    return font


def elide_path(name: str, metrics: QtGui.QFontMetrics, width: int) -> str:
    """`name` as it fits `width`. A module path loses whole parts from its middle
    ("features.1…block.1.avgpool"), always keeping its last part (the node's own name);
    of the ways that fit, the one keeping most digits wins, since the indices are what tell
    the blocks' nodes apart ("…encoder_layer_0.ln_1", not "encoder.layers…ln_1"), then
    the longest. If no whole parts fit, the end is kept as far as it fits."""
    if metrics.horizontalAdvance(name) <= width:
        return name
    parts = name.split(".")
    whole = [".".join(parts[:first]) + "…" + ".".join(parts[last:])
             for first in range(len(parts) - 1) for last in range(first + 1, len(parts))]
    candidates = [(text, True) for text in whole] + [(metrics.elidedText(name, QtCore.Qt.ElideLeft, width), False)]
    fitting = [(text, kept_whole) for text, kept_whole in candidates if metrics.horizontalAdvance(text) <= width]
    if not fitting:
        return metrics.elidedText(name, QtCore.Qt.ElideMiddle, width)
    return max(fitting, key=lambda choice: (sum(c.isdigit() for c in choice[0]), choice[1], len(choice[0])))[0]


class PortItem(QtWidgets.QGraphicsEllipseItem):
    """The output port under a node: drag from it to another node to link them."""

    def __init__(self, node: "NodeItem"):
        super().__init__(-6, -6, 12, 12, node)
        self.node = node
        self.setBrush(QtGui.QColor("#495057"))
        self.setPen(QtGui.QPen(QtCore.Qt.white, 1.5))
        self.setCursor(QtCore.Qt.CrossCursor)
        self.setToolTip("Drag to another node to make it the next layer")
        self.setZValue(2)


class NodeItem(QtWidgets.QGraphicsObject):
    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.type_name = ""
        self.category = ""
        self.is_activation = self.is_merge = self.is_first = False
        self.shape_text = ""
        self.error = ""
        self._shown: tuple | None = None  # what update_from last drew
        self._elided: tuple[tuple, str] = ((), "")  # (font, name, shape) -> the name as drawn: not elided every frame
        self.frozen = False
        # the small marks above a first layer and below an output: "input" / "output", with the
        # input's or output's name when the network has several
        self.input_mark = self.output_mark = ""
        self.training_warning = ""  # what the last run found wrong with this layer (gradients, dead units)
        self._tooltip = ""
        self._colour = QtGui.QColor("#f8f9fa")
        self.setFlags(QtWidgets.QGraphicsItem.ItemIsMovable | QtWidgets.QGraphicsItem.ItemIsSelectable
                      | QtWidgets.QGraphicsItem.ItemSendsGeometryChanges)
        self.setCacheMode(QtWidgets.QGraphicsItem.NoCache)
        self.setZValue(1)
        self.port = PortItem(self)
        self._resize()

    @property
    def size(self) -> tuple[float, float]:
        return (MERGE_WIDTH, MERGE_HEIGHT) if self.is_merge else (NODE_WIDTH, NODE_HEIGHT)

    def boundingRect(self) -> QtCore.QRectF:
        # asked for thousands of times per frame: kept, and changed only with the size
        return self._bounds

    def body(self) -> QtCore.QRectF:
        return self._body

    def _resize(self) -> None:
        width, height = self.size
        self._body = QtCore.QRectF(-width / 2, -height / 2, width, height)
        self._bounds = self._body.adjusted(-11, -14, 4, 11)  # at the left: the training warning's badge; below: "output"
        self.port.setPos(0, height / 2)

    def input_point(self) -> QtCore.QPointF:
        return self.mapToScene(QtCore.QPointF(0, -self.size[1] / 2))

    def output_point(self) -> QtCore.QPointF:
        return self.mapToScene(QtCore.QPointF(0, self.size[1] / 2))

    def update_from(self, network: Network, report: ShapeReport | None, problems: list[str]) -> None:
        """Show the node as the network and the shape report have it; `problems` are the
        report's messages about this node. Nothing is redrawn when nothing shown changed
        (a refresh after one edit then repaints one node, not hundreds)."""
        node = network.node(self.name)
        entry = network.entry(self.name)
        shape = report.nodes.get(self.name) if report else None
        error = "\n".join(problems) or (shape.error if shape else "")
        if shape and shape.output_shape is not None:
            count = f"{shape.parameter_count:,} params" if shape.parameter_count else "no params"
            shape_text = f"{describe_shape(shape.output_shape)} · {count}"
        else:
            shape_text = "shape ?"
        shown = (node.type, entry.category, node.node_class, network.is_first_layer(self.name), shape_text, error,
                 node.trainable)
        if shown == self._shown:
            return
        self._shown = shown
        self.prepareGeometryChange()
        self.type_name, self.category = node.type, entry.category
        self.is_activation = node.node_class == "activation_function"
        self.is_merge = node.node_class == "merge"
        self.is_first = shown[3]
        self.frozen = not node.trainable
        self._colour = QtGui.QColor(ACTIVATION_COLOUR if self.is_activation
                                    else CATEGORY_COLOURS.get(self.category, "#f8f9fa"))
        self.shape_text, self.error = shape_text, error
        self._resize()
        tooltip = f"{self.name}: {self.type_name} ({self.category})"
        self._tooltip = f"{tooltip}\n⚠ {self.error}" if self.error else tooltip
        self._show_tooltip()
        self.update()

    def set_marks(self, input_mark: str, output_mark: str) -> None:
        if (input_mark, output_mark) != (self.input_mark, self.output_mark):
            self.input_mark, self.output_mark = input_mark, output_mark
            self.update()

    def set_training_warning(self, text: str) -> None:
        """Mark the node with what the last training run found wrong with it ("" clears it)."""
        if text != self.training_warning:
            self.training_warning = text
            self._show_tooltip()
            self.update()

    def _show_tooltip(self) -> None:
        self.setToolTip(f"{self._tooltip}\n⚠ Training: {self.training_warning}" if self.training_warning
                        else self._tooltip)

    def paint(self, painter: QtGui.QPainter, option, widget=None) -> None:
        rect = self.body()
        if option.levelOfDetailFromTransform(painter.worldTransform()) < ZOOMED_OUT:
            # too small to read: a filled box only (red for a problem, blue when selected),
            # so that a whole big graph pans and zooms smoothly
            painter.fillRect(rect, ERROR_COLOUR if self.error else SELECTED_COLOUR if self.isSelected() else self._colour)
            return
        if self.error:
            pen = QtGui.QPen(ERROR_COLOUR, 3)
        elif self.isSelected():
            pen = QtGui.QPen(SELECTED_COLOUR, 2.5)
        else:
            pen = QtGui.QPen(QtGui.QColor("#495057"), 1.2)
        if self.frozen:
            pen.setStyle(QtCore.Qt.DashLine)  # frozen: a dashed outline and a mark in the corner
        painter.setPen(pen)
        painter.setBrush(self._colour)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        if self.is_merge:
            painter.drawEllipse(rect)
        else:
            radius = 16 if self.is_activation else 6
            painter.drawRoundedRect(rect, radius, radius)
        if self.frozen:
            painter.save()
            painter.setPen(QtGui.QColor("#1971c2"))
            font = painter.font()
            font.setPointSizeF(7.5)
            font.setBold(True)
            painter.setFont(font)
            painter.drawText(rect.adjusted(0, -14, -2, 0), QtCore.Qt.AlignRight | QtCore.Qt.AlignTop, "frozen")
            painter.restore()
        if self.training_warning:
            self._paint_warning_badge(painter, rect)
        if self.is_first:
            painter.setBrush(QtGui.QColor("#2b8a3e"))
            painter.setPen(QtCore.Qt.NoPen)
            top = rect.top()
            painter.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(-9, top - 12), QtCore.QPointF(9, top - 12),
                                                 QtCore.QPointF(0, top - 1)]))
            self._paint_mark(painter, QtCore.QRectF(12, top - 14, rect.right() - 12, 12), "#2b8a3e",
                             self.input_mark or "input")
        if self.output_mark:
            self._paint_mark(painter, QtCore.QRectF(10, rect.bottom(), rect.right() - 10, 11), "#5c7cfa",
                             self.output_mark)
        painter.setPen(QtGui.QColor("#212529"))
        font = painter.font()
        font.setPointSizeF(NAME_POINTS)
        font.setBold(True)
        painter.setFont(font)
        inner = rect.adjusted(8, 5, -8, -5)
        painter.drawText(inner, QtCore.Qt.AlignHCenter | QtCore.Qt.AlignTop, self.shown_name(font))
        font.setBold(False)
        font.setPointSizeF(SMALL_TEXT_POINTS)
        painter.setFont(font)
        painter.drawText(inner, QtCore.Qt.AlignCenter, self.type_name)
        painter.setPen(ERROR_COLOUR if self.error else QtGui.QColor("#495057"))
        text = "⚠ problem" if self.error else self.shape_text
        small = QtGui.QFontMetrics(font)
        painter.drawText(inner, QtCore.Qt.AlignHCenter | QtCore.Qt.AlignBottom,
                         small.elidedText(text, QtCore.Qt.ElideRight, int(inner.width())))

    def shown_name(self, font: QtGui.QFont | None = None) -> str:
        """The name as it fits the box in `font` (by default the canvas's bold name font):
        elided in the middle, so that an imported node keeps its stage and its own name
        ("features.1…block.1.avgpool"); the tooltip has it whole."""
        font = font or name_font()
        key = (font.key(), self.name, self.is_merge)
        if key != self._elided[0]:
            width = int(self.body().width() - 16)
            self._elided = (key, elide_path(self.name, QtGui.QFontMetrics(font), width))
        return self._elided[1]

    @staticmethod
    def _paint_mark(painter: QtGui.QPainter, where: QtCore.QRectF, colour: str, text: str) -> None:
        """A small bold word beside the node ("input", "output: aux"), cut to fit."""
        painter.save()
        painter.setPen(QtGui.QColor(colour))
        font = painter.font()
        font.setPointSizeF(7.5)
        font.setBold(True)
        painter.setFont(font)
        shown = QtGui.QFontMetrics(font).elidedText(text, QtCore.Qt.ElideRight, int(where.width()))
        painter.drawText(where, QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter, shown)
        painter.restore()

    @staticmethod
    def _paint_warning_badge(painter: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        """An orange disc with "!" on the body's top-left corner (the frozen mark is top right)."""
        painter.save()
        badge = QtCore.QRectF(rect.left() - 9, rect.top() - 9, 18, 18)
        painter.setPen(QtGui.QPen(QtCore.Qt.white, 1.5))
        painter.setBrush(TRAINING_WARNING_COLOUR)
        painter.drawEllipse(badge)
        font = painter.font()
        font.setPointSizeF(9)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(badge, QtCore.Qt.AlignCenter, "!")
        painter.restore()

    def itemChange(self, change, value):
        if change == QtWidgets.QGraphicsItem.ItemPositionHasChanged and self.scene() is not None:
            self.scene().node_moved_on_screen(self)
        return super().itemChange(change, value)

    def mouseDoubleClickEvent(self, event) -> None:
        self.scene().edit_requested.emit(self.name)
        event.accept()


class GroupItem(QtWidgets.QGraphicsObject):
    """A collapsed stage of the graph (the nodes under one module path, such as ResNet's
    `layer1`), drawn as one box; a double-click expands it. Only the view changes: the
    network, and what is compiled, stay the same."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix
        self.summary = ""
        self._body = QtCore.QRectF(-NODE_WIDTH / 2 - 10, -NODE_HEIGHT / 2 - 6, NODE_WIDTH + 20, NODE_HEIGHT + 12)
        self.setZValue(1)
        self.setCursor(QtCore.Qt.PointingHandCursor)

    def boundingRect(self) -> QtCore.QRectF:
        return self._body.adjusted(-4, -4, 4, 4)

    def input_point(self) -> QtCore.QPointF:
        return self.mapToScene(QtCore.QPointF(0, self._body.top()))

    def output_point(self) -> QtCore.QPointF:
        return self.mapToScene(QtCore.QPointF(0, self._body.bottom()))

    def show_members(self, count: int, parameters: int) -> None:
        self.summary = f"{count} nodes · {parameters:,} params"
        self.setToolTip(f"{self.prefix}: {self.summary}, collapsed. Double-click to expand.")
        self.update()

    def paint(self, painter: QtGui.QPainter, option, widget=None) -> None:
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        painter.setBrush(QtGui.QColor("#e9ecef"))
        for inset, width in ((0, 2.0), (4, 1.0)):  # a double outline: a box of boxes
            painter.setPen(QtGui.QPen(QtGui.QColor("#495057"), width))
            painter.drawRoundedRect(self._body.adjusted(inset, inset, -inset, -inset), 8, 8)
        painter.setPen(QtGui.QColor("#212529"))
        font = painter.font()
        font.setPointSizeF(NAME_POINTS)
        font.setBold(True)
        painter.setFont(font)
        inner = self._body.adjusted(10, 8, -10, -8)
        painter.drawText(inner, QtCore.Qt.AlignHCenter | QtCore.Qt.AlignTop,
                         elide_path(self.prefix, QtGui.QFontMetrics(font), int(inner.width())))
        font.setBold(False)
        font.setPointSizeF(SMALL_TEXT_POINTS)
        painter.setFont(font)
        metrics = QtGui.QFontMetrics(font)
        painter.drawText(inner, QtCore.Qt.AlignCenter, metrics.elidedText(self.summary, QtCore.Qt.ElideRight,
                                                                         int(inner.width())))
        painter.setPen(QtGui.QColor("#495057"))
        painter.drawText(inner, QtCore.Qt.AlignHCenter | QtCore.Qt.AlignBottom, "collapsed · double-click")

    def mouseDoubleClickEvent(self, event) -> None:
        self.scene().expand(self.prefix)
        event.accept()


class EdgeItem(QtWidgets.QGraphicsPathItem):
    """An arrow from a node's output to a next layer; selectable, so Delete unlinks it."""

    def __init__(self, source: str, target: str, order: int | None):
        super().__init__()
        self.source, self.target, self.order = source, target, order
        self.setFlags(QtWidgets.QGraphicsItem.ItemIsSelectable)
        self.setZValue(0)
        self.setToolTip(f"{source} → {target}" + (f" (input {order})" if order else ""))
        self.drop_target = False  # a palette entry dragged over it would go into this link
        self.into_group = False  # it ends at a collapsed group's box
        self._ends: tuple[QtCore.QPointF, QtCore.QPointF] | None = None
        self._bounds = QtCore.QRectF()

    def adjust(self, start: QtCore.QPointF, end: QtCore.QPointF) -> None:
        if (start, end) == self._ends:
            return
        self._ends = (start, end)
        path = QtGui.QPainterPath(start)
        bend = max(30.0, abs(end.y() - start.y()) / 2)
        # A link that skips nodes straight below (a residual shortcut) would run behind them:
        # it bows out to the right instead.
        side = SKIP_BOW if abs(end.x() - start.x()) < NODE_WIDTH / 2 and end.y() - start.y() > 1.5 * NODE_HEIGHT * 2 \
            else 0.0
        path.cubicTo(start + QtCore.QPointF(side, bend), end + QtCore.QPointF(side, -bend), end)
        self.prepareGeometryChange()
        self.setPath(path)
        self._bounds = path.boundingRect().adjusted(-12, -12, 12, 12)
        self.end, self.direction = end, path.angleAtPercent(1.0)

    def boundingRect(self) -> QtCore.QRectF:
        return self._bounds  # kept with the path: asked for thousands of times per frame

    def shape(self) -> QtGui.QPainterPath:
        stroker = QtGui.QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())

    def paint(self, painter: QtGui.QPainter, option, widget=None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < ZOOMED_OUT:
            painter.setPen(THIN_LINE)
            painter.drawLine(*self._ends)  # a straight line: the curve and arrowhead are not visible at this size
            return
        colour = SELECTED_COLOUR if self.isSelected() or self.drop_target else QtGui.QColor("#495057")
        width = 4.0 if self.drop_target else 2.2 if self.isSelected() else 1.6
        painter.setPen(QtGui.QPen(colour, width, QtCore.Qt.DashLine if self.drop_target else QtCore.Qt.SolidLine))
        painter.setBrush(QtCore.Qt.NoBrush)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        painter.drawPath(self.path())
        angle = math.radians(-self.direction)
        tip = self.end
        left = tip - QtCore.QPointF(math.cos(angle - 0.4) * 10, math.sin(angle - 0.4) * 10)
        right = tip - QtCore.QPointF(math.cos(angle + 0.4) * 10, math.sin(angle + 0.4) * 10)
        painter.setBrush(colour)
        painter.drawPolygon(QtGui.QPolygonF([tip, left, right]))
        if self.order and not self.into_group:
            painter.setPen(QtGui.QColor("#862e9c"))
            painter.drawText(QtCore.QRectF(tip.x() + 4, tip.y() - 20, 20, 14), QtCore.Qt.AlignLeft, str(self.order))


class NetworkScene(QtWidgets.QGraphicsScene):
    connect_requested = QtCore.pyqtSignal(str, str)
    nodes_moved = QtCore.pyqtSignal(dict)  # name -> (x, y) after a drag
    edit_requested = QtCore.pyqtSignal(str)
    collapse_requested = QtCore.pyqtSignal(object)  # the set of module paths to show collapsed

    def __init__(self, network: Network, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.network = network
        self.report: ShapeReport | None = None
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: list[EdgeItem] = []
        self._drag_line: QtWidgets.QGraphicsLineItem | None = None
        self._drag_source: NodeItem | None = None
        self._press_positions: dict[str, QtCore.QPointF] = {}
        self._syncing = False
        self._layout_cache: tuple[tuple, dict] = ((), {})  # (nodes and links, tidy layout) for unplaced nodes
        self.collapsed: set[str] = set()  # module-path prefixes shown as one box (the view only)
        self.group_items: dict[str, GroupItem] = {}
        self._stored_positions: dict[str, tuple[float, float]] = {}  # the network's, or the tidy layout's
        self.setBackgroundBrush(QtGui.QColor("#fbfbfc"))

    # -- model -> view ---------------------------------------------------------------
    def sync(self) -> None:
        """Make the items match the network: one item per node, one arrow per link."""
        self._syncing = True
        try:
            layout = self._unplaced_layout()
            problems: dict[str, list[str]] = {}
            for problem in self.report.problems if self.report else ():
                problems.setdefault(problem.node, []).append(problem.message)
            for name in list(self.node_items):
                if name not in self.network:
                    self.removeItem(self.node_items.pop(name))
            self._stored_positions = {name: node.position if node.position is not None else layout[name]
                                      for name, node in self.network.nodes.items()}
            members = self._group_members()
            shown, boxes = close_up(self._stored_positions, members, self._group_entries(members))
            marks = self._input_and_output_marks()
            for name in self.network.nodes:
                item = self.node_items.get(name)
                if item is None:
                    item = self.node_items[name] = NodeItem(name)
                    self.addItem(item)
                # a member of a collapsed group stays (hidden) where it is stored, for when it is expanded
                position = shown.get(name, self._stored_positions[name])
                if item.pos() != QtCore.QPointF(*position):
                    item.setPos(*position)
                item.setVisible(name in shown)
                item.update_from(self.network, self.report, problems.get(name, []))
                item.set_marks(*marks.get(name, ("", "")))
            self._sync_groups(members, boxes)
            # Arrows are kept where the link is unchanged: a refresh after one edit then
            # moves existing items instead of rebuilding hundreds of them.
            links = self.network.links()
            sources_of: dict[str, list[str]] = {}
            for source, target in links:  # network order, which is the merge input order
                sources_of.setdefault(target, []).append(source)
            wanted = {(source, target): (sources_of[target].index(source) + 1 if len(sources_of[target]) > 1 else None)
                      for source, target in links}
            existing = {(edge.source, edge.target): edge for edge in self.edge_items}
            for key, edge in existing.items():
                if wanted.get(key, "gone") != edge.order:
                    self.removeItem(edge)
            edges = []
            for key, order in wanted.items():
                edge = existing.get(key)
                if edge is None or edge.order != order:
                    edge = EdgeItem(key[0], key[1], order)
                    self.addItem(edge)
                edges.append(edge)
                self._adjust(edge)
            self.edge_items = edges
        finally:
            self._syncing = False

    def _input_and_output_marks(self) -> dict[str, tuple[str, str]]:
        """node -> (its input mark, its output mark): a first layer's input is named when the
        network has several, an output's name when it has several ("" for the plain word)."""
        network = self.network
        several_inputs = len(network.inputs) > 1
        marks = {name: (f"input: {network.input_feeding(name)}" if several_inputs else "", "")
                 for name in network.first_layers}
        outputs = network.outputs()
        for name in outputs:
            marks[name] = (marks.get(name, ("", ""))[0], f"output: {name}" if len(outputs) > 1 else "output")
        return marks

    def show_training_warnings(self, warnings: dict[str, str]) -> None:
        """Mark the nodes the last training run found wrong (node -> why); the others unmarked."""
        for name, item in self.node_items.items():
            item.set_training_warning(warnings.get(name, ""))

    def _unplaced_layout(self) -> dict[str, tuple[float, float]]:
        """Where nodes without a position are drawn: the layered layout, computed again
        only when the nodes or links change."""
        if all(node.position is not None for node in self.network.nodes.values()):
            return {}
        key = (tuple(self.network.nodes), tuple(self.network.links()))
        if key != self._layout_cache[0]:
            self._layout_cache = (key, tidy_positions(self.network))
        return self._layout_cache[1]

    def group_of(self, name: str) -> str | None:
        """The collapsed stage `name` is drawn in, if any (the outermost one)."""
        inside = [prefix for prefix in self.collapsed if name.startswith(prefix + ".")]
        return min(inside, key=len) if inside else None

    def _shown_item(self, name: str):
        group = self.group_of(name)
        return self.group_items[group] if group is not None else self.node_items[name]

    def _group_members(self) -> dict[str, list[str]]:
        """The nodes drawn in each collapsed group; a group whose nodes are gone is not
        collapsed any more."""
        members: dict[str, list[str]] = {}
        for name in self.network.nodes:
            group = self.group_of(name)
            if group is not None:
                members.setdefault(group, []).append(name)
        self.collapsed &= set(members)
        return members

    def _group_entries(self, members: dict[str, list[str]]) -> dict[str, list[str]]:
        """The members of each collapsed group that a link from outside it comes into."""
        if not members:
            return {}
        inputs = self.network.input_map()
        return {group: [name for name in names if any(self.group_of(source) != group for source in inputs.get(name, ()))]
                for group, names in members.items()}

    def _sync_groups(self, members: dict[str, list[str]], boxes: dict[str, tuple[float, float]]) -> None:
        for prefix in list(self.group_items):
            if prefix not in members:
                self.removeItem(self.group_items.pop(prefix))
        for prefix, names in members.items():
            item = self.group_items.get(prefix)
            if item is None:
                item = self.group_items[prefix] = GroupItem(prefix)
                self.addItem(item)
            item.setPos(*boxes[prefix])
            parameters = sum(self.report.nodes[name].parameter_count for name in names
                             if self.report is not None and name in self.report.nodes)
            item.show_members(len(names), parameters)

    def collapse(self, prefixes: set[str]) -> None:
        self.request_collapsed(self.collapsed | prefixes)

    def expand(self, prefix: str | None = None) -> None:
        """Expand one collapsed stage, or every one."""
        self.request_collapsed(self.collapsed - {prefix} if prefix is not None else set())

    def request_collapsed(self, prefixes: set[str]) -> None:
        """Ask for `prefixes` to be the collapsed groups: the controller makes it an undo
        step (collapse_requested); a scene without one changes at once."""
        if prefixes == self.collapsed:
            return
        if self.receivers(self.collapse_requested):
            self.collapse_requested.emit(set(prefixes))
        else:
            self.set_collapsed(prefixes)

    def set_collapsed(self, prefixes: set[str]) -> None:
        self.collapsed = set(prefixes)
        self.sync()

    def shown_rect(self) -> QtCore.QRectF:
        """The bounding rectangle of what is drawn (itemsBoundingRect counts hidden items:
        the members of collapsed groups)."""
        rect = QtCore.QRectF()
        for item in (*self.node_items.values(), *self.group_items.values()):
            if item.isVisible():
                rect = rect.united(item.sceneBoundingRect())
        return rect

    def first_items(self) -> list[QtWidgets.QGraphicsItem]:
        """What the first layers are drawn as (their node, or their collapsed group)."""
        return [self._shown_item(name) for name in self.network.first_layers if name in self.node_items]

    def _adjust(self, edge: EdgeItem) -> None:
        source, target = self._shown_item(edge.source), self._shown_item(edge.target)
        edge.setVisible(source is not target)  # a link inside a collapsed stage is in its box
        edge.into_group = isinstance(target, GroupItem)  # which input of a hidden node it is says nothing there
        if source is not target:
            edge.adjust(source.output_point(), target.input_point())

    def node_moved_on_screen(self, item: NodeItem) -> None:
        if self._syncing:
            return
        for edge in self.edge_items:
            if item.name in (edge.source, edge.target):
                self._adjust(edge)

    @property
    def syncing(self) -> bool:
        """True while sync() adds and removes items (their selection changes are not the user's)."""
        return self._syncing

    def edge_at(self, position: QtCore.QPointF) -> "EdgeItem | None":
        """The arrow under `position`, within a few pixels, if no node is there."""
        if self.node_at(position) is not None:
            return None
        area = QtCore.QRectF(position - QtCore.QPointF(6, 6), QtCore.QSizeF(12, 12))
        return next((item for item in self.items(area) if isinstance(item, EdgeItem)), None)

    def selected_nodes(self) -> list[str]:
        return [item.name for item in self.selectedItems() if isinstance(item, NodeItem)]

    def selected_links(self) -> list[tuple[str, str]]:
        return [(item.source, item.target) for item in self.selectedItems() if isinstance(item, EdgeItem)]

    # -- gestures -> requests --------------------------------------------------------
    def mousePressEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        item = self.itemAt(event.scenePos(), QtGui.QTransform())
        if isinstance(item, PortItem) and event.button() == QtCore.Qt.LeftButton:
            self._drag_source = item.node
            start = item.node.output_point()
            self._drag_line = self.addLine(QtCore.QLineF(start, start), QtGui.QPen(SELECTED_COLOUR, 2, QtCore.Qt.DashLine))
            event.accept()
            return
        super().mousePressEvent(event)
        self._press_positions = {i.name: i.pos() for i in self.selectedItems() if isinstance(i, NodeItem)}

    def mouseMoveEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if self._drag_line is not None:
            line = self._drag_line.line()
            line.setP2(event.scenePos())
            self._drag_line.setLine(line)
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if self._drag_line is not None:
            self.removeItem(self._drag_line)
            self._drag_line = None
            source, self._drag_source = self._drag_source, None
            target = self.node_at(event.scenePos())
            if target is not None and target.name != source.name:
                self.connect_requested.emit(source.name, target.name)
            event.accept()
            return
        super().mouseReleaseEvent(event)
        moved = {}
        for name, start in self._press_positions.items():
            if name in self.node_items and self.node_items[name].pos() != start:
                # by the distance dragged: while groups are collapsed, nodes are drawn closed up
                # from where the network has them
                delta = self.node_items[name].pos() - start
                x, y = self._stored_positions.get(name, (start.x(), start.y()))
                moved[name] = (x + delta.x(), y + delta.y())
        self._press_positions = {}
        if moved:
            self.nodes_moved.emit(moved)

    def node_at(self, position: QtCore.QPointF) -> NodeItem | None:
        for item in self.items(position):
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if isinstance(item, NodeItem):
                return item
        return None


class NetworkView(QtWidgets.QGraphicsView):
    """Wheel zooms around the mouse, the middle button pans, the left button selects."""

    def __init__(self, scene: NetworkScene, parent: QtWidgets.QWidget | None = None):
        super().__init__(scene, parent)
        self.setRenderHints(QtGui.QPainter.Antialiasing | QtGui.QPainter.TextAntialiasing)
        self.setDragMode(QtWidgets.QGraphicsView.RubberBandDrag)
        self.setTransformationAnchor(QtWidgets.QGraphicsView.AnchorUnderMouse)
        self.setViewportUpdateMode(QtWidgets.QGraphicsView.SmartViewportUpdate)
        # every item's paint() sets the pen, brush and hints it needs: saving and restoring
        # the painter around each of hundreds of items is wasted time
        self.setOptimizationFlags(QtWidgets.QGraphicsView.DontSavePainterState)
        self.setMinimumSize(300, 300)
        self._panning_from: QtCore.QPoint | None = None
        # what a right-click offers at a scene position; set by the tab, which owns the actions
        self.menu_for: Callable[[QtCore.QPointF], QtWidgets.QMenu | None] | None = None
        # what a palette entry dropped at a scene position does (palette key, position)
        self.drop_handler: Callable[[str, QtCore.QPointF], object] | None = None
        self._drop_edge: EdgeItem | None = None
        self.setAcceptDrops(True)

    # -- palette drops ---------------------------------------------------------------
    def _palette_key(self, event) -> str | None:
        data = event.mimeData()
        if self.drop_handler is None or not data.hasFormat(PALETTE_MIME):
            return None
        return bytes(data.data(PALETTE_MIME)).decode("utf-8", "replace")

    def _mark_drop_edge(self, edge: "EdgeItem | None") -> None:
        if edge is self._drop_edge:
            return
        for item in (self._drop_edge, edge):
            if item is not None:
                item.drop_target = item is edge
                item.update()
        self._drop_edge = edge

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if self._palette_key(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:
        if self._palette_key(event) is None:
            event.ignore()
            return
        self._mark_drop_edge(self.scene().edge_at(self.mapToScene(event.pos())))
        event.acceptProposedAction()

    def dragLeaveEvent(self, event: QtGui.QDragLeaveEvent) -> None:
        self._mark_drop_edge(None)
        event.accept()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        self._mark_drop_edge(None)
        key = self._palette_key(event)
        if key is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.drop_handler(key, self.mapToScene(event.pos()))

    NUDGES = {QtCore.Qt.Key_Left: (-1, 0), QtCore.Qt.Key_Right: (1, 0), QtCore.Qt.Key_Up: (0, -1),
              QtCore.Qt.Key_Down: (0, 1)}

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        """Arrow keys nudge the selected nodes by 10 (Shift: 50) as one move."""
        step = 50.0 if event.modifiers() & QtCore.Qt.ShiftModifier else 10.0
        direction = self.NUDGES.get(event.key())
        scene = self.scene()
        selected = scene.selected_nodes() if direction is not None else []
        if not selected:
            super().keyPressEvent(event)
            return
        positions = {}
        for name in selected:  # the model's position: the items follow it only at the next refresh
            stored, shown = scene.network.node(name).position, scene.node_items[name].pos()
            x, y = stored if stored is not None else (shown.x(), shown.y())
            positions[name] = (x + direction[0] * step, y + direction[1] * step)
        scene.nodes_moved.emit(positions)

    def contextMenuEvent(self, event: QtGui.QContextMenuEvent) -> None:
        menu = self.menu_for(self.mapToScene(event.pos())) if self.menu_for is not None else None
        if menu is not None:
            menu.popup(event.globalPos())

    def zoom(self, factor: float) -> None:
        current = self.transform().m11()
        factor = max(0.1 / current, min(factor, 3.0 / current))
        self.scale(factor, factor)

    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:
        self.zoom(1.0015 ** event.angleDelta().y())

    def readable_scale(self) -> float:
        """The smallest zoom at which the nodes' smallest text (the type and shape lines)
        is READABLE_TEXT_PIXELS high on this screen."""
        text_pixels = SMALL_TEXT_POINTS * self.viewport().logicalDpiY() / 72
        return READABLE_TEXT_PIXELS / text_pixels

    def fit(self) -> None:
        """The whole graph in view, but never so small that names cannot be read: a big
        graph then shows its first nodes at the top, at the readable scale, and scrolls,
        as a document does."""
        scene = self.scene()
        rect = scene.shown_rect().adjusted(-40, -40, 40, 40)
        if rect.isEmpty():
            return
        self.fitInView(rect, QtCore.Qt.KeepAspectRatio)
        scale = self.transform().m11()
        if self.readable_scale() <= scale <= 1.25:
            return
        scale = min(max(scale, self.readable_scale()), 1.25)  # small networks: readable size, not giant
        self.resetTransform()
        self.scale(scale, scale)
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        if visible.height() >= rect.height() and visible.width() >= rect.width():
            self.centerOn(rect.center())
            return
        first = scene.first_items()
        x = sum(item.scenePos().x() for item in first) / len(first) if first else rect.center().x()
        self.centerOn(x, rect.top() + visible.height() / 2)

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() == QtCore.Qt.MiddleButton:
            self._panning_from = event.pos()
            self.setCursor(QtCore.Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._panning_from is not None:
            delta = event.pos() - self._panning_from
            self._panning_from = event.pos()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() == QtCore.Qt.MiddleButton and self._panning_from is not None:
            self._panning_from = None
            self.unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)
