"""A real relay server for tests: ActivityRelay (PyPI `activityrelay`, the LitePub-style relay of the
Pleroma project) behind Caddy for TLS, as it is deployed.

ActivityRelay builds every URL of its own as `https://{domain}/…` and serves plain HTTP itself, so Caddy
terminates TLS in front of it (`support.caddy`) with a leaf of the test's private CA (`support.tls`); the
Plein instances trust that CA through `federation.ca_bundle`, the relay through `SSL_CERT_FILE`. The relay
keys a subscriber by the host name of its actor without the port, and reads its NodeInfo at
`https://{host name}/.well-known/nodeinfo` (port 443): every subscriber needs its own loopback address,
served over HTTPS on port 443 (Caddy again).

ActivityRelay pins click, idna and PyYAML below what Plein runs with, so it lives in its own virtualenv
(`tests/activityrelay/.venv`, installed from `tests/activityrelay/requirements.txt` on first use).
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from support.caddy import caddy_front, trusting
from support.tls import PrivateCA

RELAY_DIR = Path(__file__).resolve().parent.parent / "activityrelay"
_STAMP = ".plein-requirements-sha256"


class RelayPeerError(RuntimeError):
    """The relay could not be installed or started."""


def ensure_relay_installed(relay_dir: Path = RELAY_DIR) -> Path:
    """The `activityrelay` program, installed into the relay's own virtualenv unless it already matches
    requirements.txt."""
    venv = relay_dir / ".venv"
    program = venv / "bin" / "activityrelay"
    stamp = venv / _STAMP
    wanted = hashlib.sha256((relay_dir / "requirements.txt").read_bytes()).hexdigest()
    if program.exists() and stamp.is_file() and stamp.read_text().strip() == wanted:
        return program
    for command in (
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "pip"), "install", "-q", "-r", str(relay_dir / "requirements.txt")],
    ):
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise RelayPeerError(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")
    stamp.write_text(wanted + "\n")
    return program


def free_port_on(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class RelayServer:
    """A running relay: its public origin (`https://host`), where its processes log."""

    origin: str
    folder: Path

    @property
    def inbox_url(self) -> str:
        return f"{self.origin}/inbox"

    @property
    def actor_url(self) -> str:
        return f"{self.origin}/actor"

    def subscribers(self, ca: PrivateCA) -> list[str]:
        """The actors the relay counts as subscribed (its `followers` collection)."""
        response = httpx.get(
            f"{self.origin}/followers", headers={"Accept": "application/activity+json"}, verify=trusting(ca)
        )
        response.raise_for_status()
        return list(response.json()["items"])

    def logs(self) -> str:
        return "".join(path.read_text() for path in sorted(self.folder.rglob("*.log")))


def _wait_until_served(server: RelayServer, ca: PrivateCA, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RelayPeerError(f"activityrelay stopped:\n{server.logs()}")
        try:
            if httpx.get(server.actor_url, verify=trusting(ca), timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RelayPeerError(f"the relay never answered at {server.actor_url}:\n{server.logs()}")
        time.sleep(0.1)


@contextlib.contextmanager
def activity_relay(folder: Path, ca: PrivateCA, host: str) -> Iterator[RelayServer]:
    """ActivityRelay with its SQLite database in `folder`, served at `https://{host}` (port 443) through
    Caddy, trusting the test CA for its own requests; stopped on exit."""
    program = ensure_relay_installed()
    folder.mkdir(parents=True, exist_ok=True)
    relay_port = free_port_on(host)
    server = RelayServer(origin=f"https://{host}", folder=folder)
    config = folder / "relay.yaml"
    config.write_text(
        f"listen: {host}\nport: {relay_port}\ndomain: {host}\nworkers: 1\n"
        "database_type: sqlite\ncache_type: database\nsqlite_path: relay.sqlite3\n"
    )
    setup = subprocess.run(
        [str(program), "-c", str(config), "setup", "--skip-questions"],
        input="n\n",  # "run it now?": the test starts it itself
        capture_output=True,
        text=True,
        cwd=folder,
        check=False,
    )
    if not (folder / "relay.sqlite3").exists():
        raise RelayPeerError(f"activityrelay setup failed:\n{setup.stdout}\n{setup.stderr}")
    # OpenSSL reads SSL_CERT_FILE for the default roots aiohttp verifies Plein's certificates with.
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "SSL_CERT_FILE": str(ca.certificate)}
    with (folder / "relay.log").open("ab") as log:
        process = subprocess.Popen(
            [str(program), "-c", str(config), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=environment,
        )
    try:
        with caddy_front(folder / "caddy", ca, {server.origin: f"{host}:{relay_port}"}):
            _wait_until_served(server, ca, process)
            yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
