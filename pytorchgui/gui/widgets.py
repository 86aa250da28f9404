"""Small widget recipes shared by the tabs."""
from __future__ import annotations

from typing import Callable

from PyQt5 import QtCore, QtWidgets


def read_only_table(columns: list[str], object_name: str, stretch: int | None = None) -> QtWidgets.QTableWidget:
    """A table of whole rows the user reads and selects but does not edit. `stretch`
    is the column that takes the spare width (None: all columns share it)."""
    table = QtWidgets.QTableWidget(0, len(columns))
    table.setObjectName(object_name)
    table.setHorizontalHeaderLabels(columns)
    header = table.horizontalHeader()
    if stretch is None:
        header.setSectionResizeMode(QtWidgets.QHeaderView.Stretch)
    else:
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeToContents)
        header.setSectionResizeMode(stretch, QtWidgets.QHeaderView.Stretch)
    table.verticalHeader().hide()
    table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
    return table


def with_button(widget: QtWidgets.QWidget, text: str, object_name: str, slot: Callable) -> QtWidgets.QWidget:
    """`widget` with a button under its right corner (Export…, Overlay…)."""
    button = QtWidgets.QPushButton(text)
    button.setObjectName(object_name)
    button.clicked.connect(slot)
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    layout.addWidget(button, 0, QtCore.Qt.AlignRight)
    return box


def controls_beside(owner: QtWidgets.QWidget, controls: QtWidgets.QWidget, content: QtWidgets.QWidget,
                    width: int) -> QtWidgets.QSplitter:
    """The tabs' shape: a scrolling column of controls on the left, `content` on the right
    taking the spare room; the user can move the border between them."""
    scroll = QtWidgets.QScrollArea()
    scroll.setWidget(controls)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(width)
    splitter = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
    splitter.addWidget(scroll)
    splitter.addWidget(content)
    splitter.setStretchFactor(1, 1)
    splitter.setSizes([width + 10, 1000])
    layout = QtWidgets.QHBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(splitter)
    return splitter
