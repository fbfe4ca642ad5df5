"""Peers whose certificates chain to a private root (closed government networks): refused by default, reached
once `federation.ca_bundle` names that root — besides, not instead of, the system's roots; and a bad bundle
stops start-up with a message naming the key."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from apub.client import FederationClient, trusting
from apub.errors import FetchError
from plein.config import ConfigError, load_settings
from support.instance import free_port, serve_app
from support.tls import PrivateCA

LOOPBACK_ONLY = ["127.0.0.1/32"]


@pytest.fixture
async def tls_peer(tmp_path: Path) -> AsyncIterator[tuple[str, PrivateCA]]:
    """An HTTPS server on 127.0.0.1 whose certificate the private CA issued; yields its URL and the CA."""
    ca = PrivateCA(tmp_path)
    leaf = ca.issue("127.0.0.1")

    async def actor(request: object) -> JSONResponse:
        return JSONResponse({"id": "peer", "type": "Service"}, media_type="application/activity+json")

    app = Starlette(routes=[Route("/actor", actor)])
    port = free_port()
    async with serve_app(app, port, ssl_certfile=str(leaf.certificate), ssl_keyfile=str(leaf.key)):
        yield f"https://127.0.0.1:{port}/actor", ca


async def test_a_private_root_is_trusted_only_when_configured(tls_peer: tuple[str, PrivateCA]) -> None:
    url, ca = tls_peer
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, total_timeout=5.0) as default:
        with pytest.raises(FetchError):
            await default.get(url)
    async with FederationClient(
        allow_private_addresses=LOOPBACK_ONLY, total_timeout=5.0, ca_bundle=str(ca.certificate)
    ) as configured:
        response = await configured.get(url)
    assert response.status_code == 200 and b'"Service"' in response.body


def test_the_bundle_adds_to_the_system_roots(tmp_path: Path) -> None:
    ca = PrivateCA(tmp_path)
    system = ssl.create_default_context().cert_store_stats()["x509_ca"]
    assert trusting(str(ca.certificate)).cert_store_stats()["x509_ca"] == system + 1


def test_a_relative_bundle_is_read_from_the_config_folder_and_a_bad_one_refused(tmp_path: Path) -> None:
    ca = PrivateCA(tmp_path)
    config = tmp_path / "plein.toml"
    config.write_text('[federation]\nca_bundle = "ca.pem"\n')
    assert load_settings(config).federation.ca_bundle == str(ca.certificate.resolve())
    (tmp_path / "broken.pem").write_text("not a certificate")
    for bundle in ("missing.pem", "broken.pem"):
        config.write_text(f'[federation]\nca_bundle = "{bundle}"\n')
        with pytest.raises(ConfigError, match="federation.ca_bundle"):
            load_settings(config)
