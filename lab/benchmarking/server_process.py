"""A server in its own process on a free loopback port, for the load benchmark and the tests: started, waited for
until `/health` answers, read for its memory, and stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen

    def memory_mb(self) -> tuple[float, float]:
        """Its resident memory now and at its peak, in MB (Linux: /proc)."""
        fields = dict(
            line.split(":", 1)
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines()
            if ":" in line
        )
        return tuple(int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))


def wait_until_up(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {process.stderr.read()}")
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server at {url} did not answer /health within {timeout:.0f} s")


@contextlib.contextmanager
def running(argv: list[str], timeout: float = 120.0) -> Iterator[ServerProcess]:
    """Runs `python argv... --port N` (a free port) until the block ends, then SIGTERM (a kill after 60 s)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, *argv, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )
    server = ServerProcess(f"http://127.0.0.1:{port}", process)
    try:
        wait_until_up(server.url, process, timeout)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        process.stderr.close()


def berxit_serve(model_dir, *options: str):
    """`berxit-serve --model_dir model_dir options...` on a free port."""
    return running(["-m", "berxit.scripts.serve", "--model_dir", str(model_dir), "--log_level", "warning", *options])
