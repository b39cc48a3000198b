"""Two processes (gloo on CPU), started the way the README says, fine-tune together and end identical."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).parent / "distributed_worker.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(("strategy", "objectives"), [("alternating", ["all_exits", "final_exit"] * 2)])
def test_two_processes_end_with_identical_parameters(tmp_path, strategy, objectives):
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    launch += ["--main_process_port", str(free_port()), str(WORKER), str(tmp_path), strategy]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(launch, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = (torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1))
    assert first["world_size"] == second["world_size"] == 2
    for name, value in first["state"].items():
        assert torch.equal(value, second["state"][name]), name
    assert first["objectives"] == second["objectives"] == objectives
