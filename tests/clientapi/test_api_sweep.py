"""Schemathesis (PyPI) over every GET and POST of the Mastodon OpenAPI description that Plein serves, with a
token of every scope, against a live `plein serve`: no answer is a 5xx, and every answer matches what the
description documents for its status (`not_a_server_error`, `response_schema_conformance`).

Which operations are served is `scripts/openapi_coverage.py`'s count (the start-up endpoints that answer an
empty list are left out). A few examples per operation, with a fixed seed, keep it to a minute or two; run
`st run` by hand with more (`-n 100`) to look deeper. One error of the description itself is corrected here,
named in `SCHEMA_CORRECTIONS`, rather than a test bent around it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.instance import PleinProcess, make_settings
from support.openapi import openapi_document

REPO = Path(__file__).resolve().parents[2]
ST = Path(sys.executable).parent / "st"
SCOPES = "read write follow push"
LEFT_OUT = {("post", "/oauth/revoke")}  # it would end the sweep's own token
EXAMPLES_PER_OPERATION = 2


def _served_operations() -> set[tuple[str, str]]:
    spec = importlib.util.spec_from_file_location(
        "openapi_coverage", REPO / "scripts" / "openapi_coverage.py"
    )
    assert spec is not None and spec.loader is not None
    coverage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(coverage)
    served = coverage.classify(openapi_document())["served"]
    return {(line.split()[0].lower(), line.split()[1]) for line in served}


def _correct(document: dict[str, Any]) -> None:
    """SCHEMA_CORRECTIONS: `GET /api/v1/filters` answers a list of V1Filter (Mastodon's own controller and
    docs), where the description says one."""
    response = document["paths"]["/api/v1/filters"]["get"]["responses"]["200"]["content"]["application/json"]
    response["schema"] = {"type": "array", "items": {"$ref": "#/components/schemas/V1Filter"}}


def _sweep_schema(base_url: str) -> dict[str, Any]:
    document = json.loads(json.dumps(openapi_document()))
    _correct(document)
    served = _served_operations()
    paths = {}
    for path, operations in document["paths"].items():
        kept = {
            method: operation
            for method, operation in operations.items()
            if method == "parameters" or ((method, path) in served and (method, path) not in LEFT_OUT)
        }
        if any(method in ("get", "post") for method in kept):
            paths[path] = {m: o for m, o in kept.items() if m in ("get", "post", "parameters")}
    document["paths"] = paths
    document["servers"] = [{"url": base_url}]
    return document


@pytest.mark.timeout(1200)  # a few minutes on a quiet machine; the whole served API is a lot of requests
async def test_no_server_errors_and_answers_as_documented(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", **{"oauth.password_grant": True})
    server = PleinProcess(settings, tmp_path)
    await server.start()
    try:
        server.cli(
            "account",
            "create",
            "alice",
            "--role",
            "admin",
            "--email",
            "alice@plein.example",
            "--password",
            "a long enough sweep password",
        )
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            app = (
                await http.post(
                    "/api/v1/apps",
                    data={
                        "client_name": "sweep",
                        "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                        "scopes": SCOPES,
                    },
                )
            ).json()
            token = (
                await http.post(
                    "/oauth/token",
                    data={
                        "grant_type": "password",
                        "client_id": app["client_id"],
                        "client_secret": app["client_secret"],
                        "username": "alice",
                        "password": "a long enough sweep password",
                        "scope": SCOPES,
                    },
                )
            ).json()["access_token"]
            # Something to find: a post with a hashtag, a list, a filter.
            headers = {"Authorization": f"Bearer {token}"}
            await http.post("/api/v1/statuses", headers=headers, json={"status": "Hallo #plein"})
            await http.post("/api/v1/lists", headers=headers, json={"title": "Ministeries"})
        schema = tmp_path / "sweep.json"
        document = _sweep_schema(server.base_url)
        schema.write_text(json.dumps(document))
        operations = sum(1 for ops in document["paths"].values() for m in ops if m in ("get", "post"))
        assert operations > 100  # the served part of the API, not an accidentally empty selection
        result = subprocess.run(
            [
                str(ST),
                "run",
                str(schema),
                "--url",
                server.base_url,
                "-H",
                f"Authorization: Bearer {token}",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--phases",
                "fuzzing",
                "--workers",
                "2",
                "-n",
                str(EXAMPLES_PER_OPERATION),
                "--seed",
                "20261205",
                "--continue-on-failure",
                "--request-timeout",
                "20",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
            cwd=tmp_path,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: " in result.stdout
    server_log = server.log()
    assert "Traceback" not in server_log, server_log[-4000:]
