"""Optimizers the catalogue takes from PyTorchGUI rather than torch.optim ("source":
"pytorchgui" in function_db/optimizers.json).

torch's Muon refuses every parameter that is not a 2-D matrix (`ValueError: Muon only
supports 2D parameters`), and its authors use it only for the hidden layers' weight
matrices, with AdamW for biases, norms, embeddings and the output layer. `Muon` here does
just that, with both sets of settings, as one optimizer: the Trainer, the schedules,
checkpoints and the settings changed while paused see one object.
"""
from __future__ import annotations

from typing import Any, Iterable

import torch


class Muon(torch.optim.Optimizer):
    """Muon for the hidden layers' weight matrices, AdamW (the adamw_ settings) for every other
    parameter. `params` are tensors (2-D ones go to Muon) or groups {"params": [...],
    "matrix": bool} that say which way each goes (see core/training/optimizers.py)."""

    splits_matrices = True  # the Trainer gives it the hidden weight matrices as a group of their own

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
                 eps: float = 1e-07, ns_steps: int = 5, adjust_lr_fn: str | None = None, adamw_lr: float = 1e-3,
                 adamw_betas: tuple[float, float] = (0.9, 0.999), adamw_eps: float = 1e-08,
                 adamw_weight_decay: float = 0.01) -> None:
        matrices, others = _matrices_and_others(params)
        self._muon = torch.optim.Muon(matrices, lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      nesterov=nesterov, ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn) if matrices else None
        self._adamw = torch.optim.AdamW(others, lr=adamw_lr, betas=adamw_betas, eps=adamw_eps,
                                        weight_decay=adamw_weight_decay) if others else None
        # The parts' group dicts become this optimizer's groups (the same objects), so a
        # schedule or a setting changed on a group reaches the part that steps it.
        super().__init__([group for part in self._parts() for group in part.param_groups], {})
        for group, algorithm in zip(self.param_groups, self._algorithms()):
            group["algorithm"] = algorithm
        self._share_state()

    def _parts(self) -> list[torch.optim.Optimizer]:
        return [part for part in (self._muon, self._adamw) if part is not None]

    def _algorithms(self) -> list[str]:
        return (["muon"] if self._muon is not None else []) + (["adamw"] if self._adamw is not None else [])

    def _share_state(self) -> None:
        """Point each part at this optimizer's groups and state, so that state_dict and
        load_state_dict (which replaces both) cover the parts."""
        index = 0
        for part in self._parts():
            count = len(part.param_groups)
            part.param_groups = self.param_groups[index:index + count]
            part.state = self.state
            index += count

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._share_state()

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for part in self._parts():
            part.step()
        return loss

    def update_settings(self, arguments: dict[str, Any]) -> None:
        """Put constructor arguments into the groups they belong to: `lr` into Muon's,
        `adamw_lr` (as `lr`) into AdamW's."""
        for group in self.param_groups:
            if group["algorithm"] == "adamw":
                values = {key.removeprefix("adamw_"): value for key, value in arguments.items()
                          if key.startswith("adamw_")}
            else:
                values = {key: value for key, value in arguments.items() if not key.startswith("adamw_")}
            group.update({key: value for key, value in values.items() if key in group})


def _matrices_and_others(params: Iterable[Any]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    matrices, others = [], []
    for item in params:
        if isinstance(item, dict):
            (matrices if item.get("matrix") else others).extend(item["params"])
        else:
            (matrices if item.ndim == 2 else others).append(item)
    return matrices, others


def probe_step(entry, values: dict[str, Any]) -> torch.optim.Optimizer:
    """The optimizer of catalogue `entry` with the settings `values`, after one step on two
    small tensors: a vector and a matrix (Muon's two groups), or for an optimizer of sparse
    gradients only (SparseAdam), a sparse embedding's matrix. Raises what torch raises for
    settings it refuses (SGD's nesterov without momentum) at construction or in the step."""
    sparse_only = entry.gradients == "sparse"
    embedding = torch.nn.Embedding(8, 8, sparse=sparse_only)
    parameters = ([] if sparse_only else [torch.nn.Parameter(torch.ones(64))]) + [embedding.weight]
    optimizer = entry.build_optimizer(parameters, values)

    def closure():
        optimizer.zero_grad()
        value = embedding(torch.arange(8)).square().sum() + sum(p.square().sum() for p in parameters[:-1])
        value.backward()
        return value

    optimizer.step(closure)
    return optimizer


def pytorchgui_optimizers() -> dict[str, type[torch.optim.Optimizer]]:
    """Every class an optimizer entry with "source": "pytorchgui" may name."""
    return {"Muon": Muon}
