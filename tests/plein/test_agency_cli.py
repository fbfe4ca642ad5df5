"""`plein account agency`, run as a real subprocess against a real data folder: a good identifier marks the
account (and the moderation audit log says who did it), a malformed one or a non-https website is refused
with exit 2 and one line, and changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.plein.test_cli import run

TOOI = "https://identifier.overheid.nl/tooi/id/ministerie/mnre1034"
OIN = "00000001003214345000"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    result = run(tmp_path, "init", "--base-url", "https://gov.example", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert run(tmp_path, "account", "create", "minbzk").returncode == 0
    return tmp_path


def _mark(folder: Path) -> tuple[str | None, str | None, str | None]:
    with sqlite3.connect(folder / "data" / "plein.db") as connection:
        row = connection.execute(
            "select government_id, government_website, government_verified_at from accounts"
            " where username = 'minbzk'"
        ).fetchone()
    return row[0], row[1], row[2]


def test_good_identifiers_mark_the_account_and_are_audited(folder: Path) -> None:
    result = run(
        folder, "account", "agency", "minbzk", "--id", TOOI, "--website", "https://www.rijksoverheid.nl"
    )
    assert result.returncode == 0, result.stderr
    assert TOOI in result.stdout
    government_id, website, verified_at = _mark(folder)
    assert (government_id, website) == (TOOI, "https://www.rijksoverheid.nl") and verified_at is not None

    assert (
        run(
            folder, "account", "agency", "minbzk", "--id", OIN, "--website", "https://www.minbzk.nl"
        ).returncode
        == 0
    )
    assert _mark(folder)[:2] == (OIN, "https://www.minbzk.nl")
    audit = run(folder, "audit", "list")
    assert audit.returncode == 0 and "account.agency" in audit.stdout, audit.stdout

    cleared = run(folder, "account", "agency", "minbzk", "--clear")
    assert cleared.returncode == 0, cleared.stderr
    assert _mark(folder) == (None, None, None)
    assert "account.agency_clear" in run(folder, "audit", "list").stdout


@pytest.mark.parametrize(
    "arguments",
    [
        ("--id", "12345", "--website", "https://www.rijksoverheid.nl"),  # too short for an OIN
        ("--id", "0000000100321434500X", "--website", "https://www.rijksoverheid.nl"),
        (
            "--id",
            "https://identifier.overheid.nl/tooi/id/ministerie",
            "--website",
            "https://www.rijksoverheid.nl",
        ),
        ("--id", "http://identifier.overheid.nl/tooi/id/ministerie/mnre1034", "--website", "https://x.nl"),
        ("--id", "https://evil.example/tooi/id/ministerie/mnre1034", "--website", "https://x.nl"),
        ("--id", TOOI, "--website", "http://www.rijksoverheid.nl"),  # not https
        ("--id", TOOI, "--website", "rijksoverheid.nl"),
        ("--id", TOOI),  # no website
        ("--clear", "--id", TOOI),
    ],
)
def test_bad_values_are_refused_and_change_nothing(folder: Path, arguments: tuple[str, ...]) -> None:
    assert (
        run(
            folder, "account", "agency", "minbzk", "--id", OIN, "--website", "https://www.minbzk.nl"
        ).returncode
        == 0
    )
    before = _mark(folder)
    result = run(folder, "account", "agency", "minbzk", *arguments)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("plein: ") and result.stderr.count("\n") == 1, result.stderr
    assert _mark(folder) == before


def test_unknown_account_is_refused(folder: Path) -> None:
    result = run(folder, "account", "agency", "nobody", "--id", OIN, "--website", "https://www.minbzk.nl")
    assert result.returncode == 2 and "nobody" in result.stderr
