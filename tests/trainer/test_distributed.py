"""Two processes (gloo on CPU), started with torchrun as the README says, fine-tune together and end identical."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).parent / "distributed_worker.py"


@pytest.mark.parametrize(
    ("strategy", "objectives"),
    [
        ("alternating", ["all_exits", "final_exit"] * 2),
        ("two_stage", ["final_exit", "final_exit", "early_exits", "early_exits"]),
    ],
)
def test_two_processes_end_with_identical_parameters(tmp_path, strategy, objectives):
    # `--standalone`: the rendezvous binds a free port itself. Probing for a free port first and handing it to the
    # launcher leaves a window in which another process can take it (the suspected cause of the one failure seen).
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    launch += [str(WORKER), str(tmp_path), strategy]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(launch, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = (torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1))
    assert first["world_size"] == second["world_size"] == 2
    for name, value in first["state"].items():
        assert torch.equal(value, second["state"][name]), name
    assert first["objectives"] == second["objectives"] == objectives
