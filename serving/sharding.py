"""Many processes on one node answering one file: under `torchrun --nproc_per_node N` (or `accelerate launch`) each
process answers its share of every round of chunks and the first process writes them all, in input order.

Every process reads the same input; in each round of N chunks process r answers chunk r, and process 0 gathers the
answers and writes the round. The chunks are the same as one process's, so the output is the same, byte for byte.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass
class Shards:
    """This process's place among those answering one file (one process: rank 0 of 1, nothing to exchange)."""

    rank: int = 0
    world: int = 1

    @classmethod
    def from_environment(cls) -> Shards:
        """The processes torchrun or accelerate started (`RANK`, `WORLD_SIZE`), joined in one gloo group (each on
        its own GPU where there are GPUs); one process where they set nothing."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls()
        import torch
        import torch.distributed as dist

        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        if not dist.is_initialized():
            dist.init_process_group("gloo")
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def writes(self) -> bool:
        return self.rank == 0

    def broadcast(self, value: Any) -> Any:
        """Process 0's `value`, in every process."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list | None:
        """Every process's `value` in rank order, in process 0 (None elsewhere)."""
        if self.world == 1:
            return [value]
        import torch.distributed as dist

        values = [None] * self.world if self.writes else None
        dist.gather_object(value, values, dst=0)
        return values

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()
            dist.destroy_process_group()
