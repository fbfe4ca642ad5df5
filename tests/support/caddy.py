"""Caddy as the TLS-terminating reverse proxy in front of test servers, as they are deployed: each site is an
`https://` origin with a leaf of the test's private CA, passed on to a plain-HTTP upstream."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from support.tls import PrivateCA


class CaddyError(RuntimeError):
    """Caddy is missing or did not start."""


def trusting(ca: PrivateCA) -> ssl.SSLContext:
    """A client TLS context that trusts the test CA."""
    return ssl.create_default_context(cafile=str(ca.certificate))


def _site(origin: str, upstream: str, ca: PrivateCA) -> str:
    host = urlsplit(origin).hostname or ""
    leaf = ca.issue(host)
    return (
        f"{origin} {{\n\tbind {host}\n\ttls {leaf.certificate} {leaf.key}\n\treverse_proxy {upstream}\n}}\n"
    )


def _handshake(origin: str, ca: PrivateCA) -> None:
    parts = urlsplit(origin)
    host = parts.hostname or ""
    with socket.create_connection((host, parts.port or 443), timeout=2) as raw:
        with trusting(ca).wrap_socket(raw, server_hostname=host):
            pass


@contextlib.contextmanager
def caddy_front(folder: Path, ca: PrivateCA, sites: dict[str, str]) -> Iterator[None]:
    """Serve every `https://host[:port]` origin of `sites` through Caddy, proxied to its upstream
    (`host:port`), until the context exits. Waits until each origin completes a TLS handshake."""
    caddy = shutil.which("caddy")
    if caddy is None:
        raise CaddyError("these tests need Caddy on PATH (apt-get install caddy)")
    folder.mkdir(parents=True, exist_ok=True)
    caddyfile = folder / "Caddyfile"
    caddyfile.write_text(
        "{\n\tadmin off\n\tauto_https off\n}\n" + "".join(_site(o, u, ca) for o, u in sites.items())
    )
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(folder),
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"),
    }
    log_path = folder / "caddy.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    try:
        deadline = time.monotonic() + 30
        for origin in sites:
            while True:
                if process.poll() is not None:
                    raise CaddyError(f"caddy stopped:\n{log_path.read_text()}")
                try:  # a TLS handshake only: an upstream served in the caller's event loop cannot answer now
                    _handshake(origin, ca)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise CaddyError(f"caddy never served {origin}:\n{log_path.read_text()}") from None
                    time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
