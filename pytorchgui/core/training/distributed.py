"""Training in a torchrun job: this process's rank, joining the process group (gloo on the
CPU, NCCL on GPUs), summing figures over the processes, leaving the group. A run outside
torchrun is rank 0 of 1, and every step here does nothing for it."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistributedContext:
    """This process's place in a torchrun job (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def distributed_context(device: str) -> DistributedContext:
    """Join the torchrun job this process was started in, if any: gloo on the CPU, NCCL on
    GPUs (each process on the GPU of its LOCAL_RANK)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistributedContext()
    context = DistributedContext(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(context.local_rank)
        dist.init_process_group(backend)
    return context


def all_reduce(values: list[float], context: DistributedContext, device) -> list[float]:
    """The sums of `values` over every process of the job (`values` itself when alone)."""
    if not context.active:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def leave_process_group(context: DistributedContext) -> None:
    """End this process's part in the torchrun job, if it joined one."""
    if context.active and dist.is_initialized():
        dist.destroy_process_group()
