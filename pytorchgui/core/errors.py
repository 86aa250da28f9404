"""Errors a user can meet, each naming the file, entry, node or field and what to do.

The GUI shows them in a dialog and the CLI prints them on stderr; anything else that
escapes is a bug and gets a traceback.
"""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (torch's run to many lines), or its type's name
    when it has none."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class PyTorchGUIError(Exception):
    """Base of every error that is the user's input, not a bug."""


class CatalogError(PyTorchGUIError):
    """A function database file is malformed or names something torch does not have."""


class UnknownEntryError(CatalogError, KeyError):
    """A name that is not in the catalogue."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ParameterError(PyTorchGUIError, ValueError):
    """A parameter value that its spec does not accept."""

    def __init__(self, message: str, *, entry: str = "", parameter: str = "", node: str = ""):
        super().__init__(message)
        self.entry = entry
        self.parameter = parameter
        self.node = node


class NetworkError(PyTorchGUIError):
    """An operation on a network that cannot be done (unknown node, duplicate name, ...)."""

    def __init__(self, message: str, *, node: str = ""):
        super().__init__(message)
        self.node = node


class NetworkFormatError(PyTorchGUIError):
    """A network file that cannot be read: bad JSON, unknown type, over a limit."""


class GraphError(NetworkError):
    """The topology cannot be compiled: cycle, dangling link, no first layer, ..."""


class ShapeError(NetworkError):
    """A node cannot take the shape of its input."""


class TrainingError(PyTorchGUIError):
    """Training cannot start or had to stop; the message says why and what to do."""


class DatasetError(PyTorchGUIError):
    """A dataset that cannot be read, with the file and what to do."""


class SaveError(PyTorchGUIError, OSError):
    """A file could not be written (missing or read-only folder, full disk, a directory in
    the way). Still an OSError, so code that handles OSError keeps working; the file that
    was there is untouched."""

    def __str__(self) -> str:  # the message, without OSError's "[Errno 28]" prefix
        return self.strerror or super().__str__()
