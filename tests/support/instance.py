"""Real Plein instances for tests: in-process (uvicorn on a free 127.0.0.1 port, same event loop) or as a
`plein serve` subprocess with its own config and data folder."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from apub.ssrf import Resolver
from plein.app import create_app
from plein.cli import uvicorn_options
from plein.config import load_settings, settings_to_toml
from storage.context import Context
from storage.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
PLEIN_BIN = Path(sys.executable).parent / "plein"


def write_config(folder: Path, instance_lines: str = "") -> Path:
    """A minimal config file in `folder` (data in `folder/data`) for CLI tests; `instance_lines` are more
    `[instance]` keys, as TOML lines."""
    config = folder / "plein.toml"
    config.write_text(
        '[instance]\ndomain = "127.0.0.1:9"\nbase_url = "http://127.0.0.1:9"\n'
        f'{instance_lines}[server]\ndata_dir = "data"\n[secrets]\nsecret_key = "k"\n'
    )
    return config


def run_plein(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `plein` CLI command with the config file `config` (output captured, exit code not checked)."""
    return subprocess.run(
        [sys.executable, "-m", "plein.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_settings(
    data_dir: Path, *, port: int | None = None, database_url: str = "", **overrides: Any
) -> Settings:
    """Settings of a test instance at http://127.0.0.1:PORT, allowed to talk to loopback peers.

    `overrides` are "section.key" → value, e.g. {"federation.authorized_fetch": True}.
    """
    port = port or free_port()
    values: dict[str, Any] = {
        "instance.domain": f"127.0.0.1:{port}",
        "instance.base_url": f"http://127.0.0.1:{port}",
        "server.listen_host": "127.0.0.1",
        "server.listen_port": port,
        "server.data_dir": str(data_dir),
        "database.url": database_url,
        "federation.allow_private_addresses": ["127.0.0.0/8"],
        "secrets.secret_key": "test-secret-key-not-for-production",
        "server.log_level": "warning",
    }
    values.update(overrides)
    return load_settings(None, overrides=values)


@contextlib.asynccontextmanager
async def serve_app(app: Any, port: int, **options: Any) -> AsyncIterator[None]:
    """Serve a small ASGI app (a fake remote server) with uvicorn on 127.0.0.1:`port` in this event loop;
    `options` go to `uvicorn.Config` (e.g. `ssl_certfile`, `ssl_keyfile` for HTTPS)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **options)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@dataclass
class RunningInstance:
    """An instance served on a real port; `ctx` is its live Context (in-process only)."""

    base_url: str
    settings: Settings
    ctx: Context | None = None

    def client(self, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30, **options)


def _recording(app: Any, seen: list[str]) -> Any:
    """`app`, noting "METHOD /path" of every HTTP request it gets in `seen`."""

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(f"{scope['method']} {scope['path']}")
        await app(scope, receive, send)

    return recorded


@contextlib.asynccontextmanager
async def serve_in_process(
    settings: Settings,
    *,
    run_workers: bool = False,
    resolver: Resolver | None = None,
    seen: list[str] | None = None,
) -> AsyncIterator[RunningInstance]:
    """Serve `settings` with uvicorn inside this event loop until the context exits.

    Workers are off by default: tests drain queues inline (`plein.jobs.run_jobs`) instead of sleeping.
    `resolver` plays DNS for the instance's outbound requests (see `loopback_names`).
    With `seen`, every HTTP request the instance gets is noted there ("METHOD /path").
    """
    app = create_app(settings, run_workers=run_workers, resolver=resolver)
    config = uvicorn.Config(
        app if seen is None else _recording(app, seen),
        log_level="warning",
        lifespan="on",
        **uvicorn_options(settings),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises the start-up error
            raise RuntimeError("server stopped during start-up")
        await asyncio.sleep(0.02)
    try:
        yield RunningInstance(base_url=settings.base_url, settings=settings, ctx=app.state.ctx)
    finally:
        server.should_exit = True
        await task


class PleinProcess:
    """A `plein serve` (or, with `command="worker"`, `plein worker`) subprocess with its own config file and
    folder; several may share one database and data folder."""

    def __init__(
        self, settings: Settings, folder: Path, *, extra_args: tuple[str, ...] = (), command: str = "serve"
    ) -> None:
        self.settings = settings
        self.folder = folder
        self.config_path = folder / "plein.toml"
        self.config_path.write_text(settings_to_toml(settings))
        self.extra_args = extra_args
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = folder / f"{command}.log"

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def listen_url(self) -> str:
        """Where this process listens: the base URL, unless several processes serve one instance."""
        return f"http://{self.settings.server.listen_host}:{self.settings.server.listen_port}"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a `plein` CLI command against this instance's config."""
        return subprocess.run(
            [str(PLEIN_BIN), "--config", str(self.config_path), *args],
            capture_output=True,
            text=True,
            check=check,
            cwd=self.folder,
            env=_child_env(),
        )

    async def start(self, timeout: float = 30.0) -> None:
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [str(PLEIN_BIN), "--config", str(self.config_path), self.command, *self.extra_args],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                env=_child_env(),
            )
        async with httpx.AsyncClient(timeout=2) as client:
            deadline = asyncio.get_running_loop().time() + timeout
            while asyncio.get_running_loop().time() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"plein {self.command} exited early:\n{self.log()}")
                if await self._ready(client):
                    return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"plein {self.command} did not become ready:\n{self.log()}")

    async def _ready(self, client: httpx.AsyncClient) -> bool:
        if self.command == "worker":  # no HTTP: it says so once its loops run
            return "worker running" in self.log()
        with contextlib.suppress(httpx.HTTPError):
            return (await client.get(f"{self.listen_url}/readyz")).status_code == 200
        return False

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, like a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _child_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PLEIN_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def with_overrides(settings: Settings, **sections: Any) -> Settings:
    """A copy of `settings` with whole sections replaced (dataclasses.replace on each named section)."""
    return replace(settings, **sections)


def loopback_names(names: dict[str, str]) -> Resolver:
    """A resolver answering each test host name (A-label, lower case) with its 127.0.0.x address, so remotes
    can be served under real names on loopback; any other name does not resolve."""

    async def resolve(host: str, port: int) -> list[str]:
        address = names.get(host.lower().rstrip("."))
        if address is None:
            raise OSError(f"{host!r} is not a test host name")
        return [address]

    return resolve
