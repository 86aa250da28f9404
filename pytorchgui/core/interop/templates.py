"""The networks a new one can start from: the shipped examples, described for a chooser."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytorchgui.core.training import network_format
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import describe_shape, infer_shapes


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    network: Network
    parameters: int | None  # None while the network has problems (the first version's example)
    input_shape: str
    output_shape: str

    def summary(self) -> str:
        size = f"{self.parameters:,} parameters" if self.parameters is not None else "needs its sizes set"
        return f"{self.name}\n{size}\ninput {self.input_shape} → {self.output_shape}"


def template_files(folder: Path) -> list[Path]:
    """The network files a new network can start from, in name order (not yet read)."""
    return sorted(folder.glob("*.json"))


def templates(folder: Path) -> list[Template]:
    """Every network file of `folder` that loads: those ready to train first, each group in
    name order (the first version's example, which needs its sizes set, comes last)."""
    found = []
    for path in template_files(folder):
        try:
            network = network_format.load(path)
        except PyTorchGUIError:
            continue  # a broken file is not offered as a starting point
        report = infer_shapes(network)
        found.append(Template(path.stem, path, network, report.total_parameters if report.ok else None,
                              describe_shape(tuple(network.input_spec.shape) if network.input_spec else None),
                              _outputs_shape(report)))
    return sorted(found, key=lambda template: (template.parameters is None, template.name))


def _outputs_shape(report) -> str:
    """The output's shape, or each output's ("[10], [10]") for a network with several."""
    if len(report.outputs) > 1:
        return ", ".join(describe_shape(report.output_shape_of(name)) for name in report.outputs)
    return describe_shape(report.output_shape)
