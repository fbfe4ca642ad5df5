"""`plein doctor` against a running instance (all good but the warnings a loopback test set-up earns) and
against broken installations: nothing listening at the public URL, migrations not applied, a short secret;
each failure names the check and how to fix it, and the command exits 1. It never migrates or writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from plein.config import settings_to_toml
from support.instance import PleinProcess, free_port, make_settings


def _lines(output: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        level, _, rest = line.partition("  ")
        if level.strip() in ("ok", "warn", "fail"):
            found.setdefault(level.strip(), []).append(rest.strip())
    return found


async def test_a_running_instance_is_found_healthy(tmp_path: Path) -> None:
    process = PleinProcess(make_settings(tmp_path / "data"), tmp_path)
    await process.start()
    try:
        result = process.cli("doctor", check=False)
    finally:
        process.stop()
    assert result.returncode == 0, result.stdout
    lines = _lines(result.stdout)
    assert "fail" not in lines
    for check in (
        "secret key",
        "data folder",
        "database",
        "migrations",
        "keys",
        "workers",
        "public URL",
        "clock",
    ):
        assert any(line.startswith(check) for line in lines["ok"]), (check, result.stdout)
    # What a loopback test instance rightly warns about.
    assert any(line.startswith("SSRF guard") for line in lines["warn"])
    assert any("not https" in line for line in lines["warn"])


async def test_broken_installations_are_named_with_their_fix(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", port=free_port(), **{"secrets.secret_key": "short"})
    (tmp_path / "data").mkdir()
    config = tmp_path / "plein.toml"
    config.write_text(settings_to_toml(settings))
    process = PleinProcess(settings, tmp_path)
    result = process.cli("doctor", check=False)  # nothing listens, the database was never migrated
    assert result.returncode == 1
    failures = _lines(result.stdout)["fail"]
    assert any(line.startswith("secret key") for line in failures)
    assert any(line.startswith("migrations") for line in failures)
    assert any(line.startswith("public URL") and "cannot be reached" in line for line in failures)
    assert "fix: run `plein migrate`" in result.stdout
    # Read-only: the database file it opened holds no tables.
    tables = (
        sqlite3.connect(tmp_path / "data" / "plein.db")
        .execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        .fetchone()[0]
    )
    assert tables == 0
