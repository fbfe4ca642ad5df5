"""The access log and request ids: one record per request with method, path (never the query string, where
tokens travel), status and duration; the client's address only when `server.log_client_addresses` is on; a
request id answered in `X-Request-Id`, taken from a trusted proxy only; JSON lines with `plein serve
--set server.log_format=json`, uvicorn's own lines included."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from plein.logs import REQUEST_ID, logging_config
from support.instance import PleinProcess, make_settings, serve_in_process


def _access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "plein.access"]


async def test_each_request_is_logged_once_without_its_query_or_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="plein.access")
    async with serve_in_process(make_settings(tmp_path)) as instance, instance.client() as client:
        response = await client.get(
            "/api/v1/instance",
            params={"access_token": "secret-token"},
            headers={"X-Request-Id": "chosen-by-client"},
        )
        missing = await client.get("/api/v1/statuses/1")
    [first, second] = _access_records(caplog)
    assert (first.method, first.path, first.status) == ("GET", "/api/v1/instance", 200)  # type: ignore[attr-defined]
    assert (second.path, second.status) == ("/api/v1/statuses/1", 404)  # type: ignore[attr-defined]
    assert first.duration_ms >= 0 and not hasattr(first, "client")  # type: ignore[attr-defined]
    assert "secret-token" not in caplog.text and "127.0.0.1" not in first.getMessage()
    # An untrusted client does not choose its request id; the answer names the one we logged under.
    request_id = response.headers["x-request-id"]
    assert request_id != "chosen-by-client" and len(request_id) == 32
    assert missing.headers["x-request-id"] not in (request_id, "")


async def test_addresses_and_proxy_request_ids_when_configured(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="plein.access")
    settings = make_settings(
        tmp_path, **{"server.log_client_addresses": True, "server.trusted_proxies": ["127.0.0.1/32"]}
    )
    async with serve_in_process(settings) as instance, instance.client() as client:
        proxied = await client.get(
            "/api/v1/instance", headers={"X-Request-Id": "nginx-4f2a", "X-Forwarded-For": "203.0.113.9"}
        )
        garbled = await client.get("/api/v1/instance", headers={"X-Request-Id": "bad id\twith spaces"})
    assert proxied.headers["x-request-id"] == "nginx-4f2a"
    assert garbled.headers["x-request-id"] != "bad id\twith spaces"
    first, second = _access_records(caplog)
    assert first.client == "203.0.113.9" and first.getMessage().endswith("203.0.113.9")  # type: ignore[attr-defined]
    assert second.client == "127.0.0.1"  # type: ignore[attr-defined]


def test_json_records_carry_the_request_id(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **{"server.log_format": "json"})
    formatter_spec = logging_config(settings)["formatters"]["default"]
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter(formatter_spec["fmt"], rename_fields=formatter_spec["rename_fields"])
    record = logging.LogRecord("plein.test", logging.WARNING, __file__, 1, "held %s", ("up",), None)
    token = REQUEST_ID.set("abc123")
    try:
        from plein.logs import RequestIdFilter

        RequestIdFilter().filter(record)
    finally:
        REQUEST_ID.reset(token)
    line = json.loads(formatter.format(record))
    assert line["message"] == "held up" and line["request_id"] == "abc123"
    assert line["level"] == "WARNING" and line["logger"] == "plein.test" and "time" in line


async def test_plein_serve_writes_json_lines(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", **{"server.log_format": "json", "server.log_level": "info"})
    process = PleinProcess(settings, tmp_path)
    await process.start()
    try:
        async with httpx.AsyncClient() as client:
            await client.get(f"{process.base_url}/api/v1/instance?access_token=secret-token")
    finally:
        process.stop()
    lines = [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]
    # Every other line is the first-run hint printed for the operator, not a log record.
    others = [line for line in process.log().splitlines() if line.strip() and not line.startswith("{")]
    assert lines and others[0].startswith("No account exists yet") and len(others) == 2
    access = [
        line for line in lines if line["logger"] == "plein.access" and line["path"] == "/api/v1/instance"
    ]
    assert len(access) == 1 and access[0]["status"] == 200 and access[0]["request_id"]
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's start-up lines too
    assert "secret-token" not in process.log()
