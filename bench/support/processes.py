"""Servers a benchmark runs in child processes: a free loopback port, and the benchmark script itself
re-run with `_serve …` arguments, stopped (then killed) when the block ends."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def server_process(script: str, kind: str, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python SCRIPT _serve KIND ARGS… PORT …` is the script's own convention for where the port goes: here it
    is passed as `{port}` in `args`. Yields the process and its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, script, "_serve", kind, *(arg.format(port=port) for arg in args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
