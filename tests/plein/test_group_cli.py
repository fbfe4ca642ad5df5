"""`plein group …`, run as a real subprocess against a real data folder: a group is created as a `Group`
actor, local accounts become and stop being its moderators (audited), and what is no group or no local
account is refused with exit 2 and one line, changing nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.plein.test_cli import run


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    result = run(
        tmp_path, "init", "--base-url", "https://gemeente.example", "--data-dir", str(tmp_path / "data")
    )
    assert result.returncode == 0, result.stderr
    assert run(tmp_path, "account", "create", "jan").returncode == 0
    return tmp_path


def _rows(folder: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(folder / "data" / "plein.db") as connection:
        return connection.execute(sql).fetchall()


def test_create_a_group_and_its_moderators(folder: Path) -> None:
    result = run(folder, "group", "create", "raad", "--display-name", "Gemeenteraad")
    assert result.returncode == 0, result.stderr
    assert "https://gemeente.example/users/raad" in result.stdout
    assert _rows(folder, "select actor_type, display_name from accounts where username = 'raad'") == [
        ("Group", "Gemeenteraad")
    ]

    assert run(folder, "group", "moderator", "add", "raad", "jan").returncode == 0
    listed = run(folder, "group", "moderators", "raad")
    assert listed.returncode == 0 and listed.stdout.split() == ["@jan"]
    assert run(folder, "group", "moderator", "remove", "raad", "jan").returncode == 0
    assert run(folder, "group", "moderators", "raad").stdout.split() == []
    actions = [row[0] for row in _rows(folder, "select action from audit_log order by id")]
    assert actions == ["group.create", "group.moderator.add", "group.moderator.remove"]


def test_refusals_change_nothing(folder: Path) -> None:
    assert run(folder, "group", "create", "raad").returncode == 0
    not_a_group = run(folder, "group", "moderator", "add", "jan", "raad")
    assert not_a_group.returncode == 2 and "not a group" in not_a_group.stderr
    a_group_as_moderator = run(folder, "group", "moderator", "add", "raad", "raad")
    assert a_group_as_moderator.returncode == 2
    taken = run(folder, "group", "create", "jan")
    assert taken.returncode == 2 and "taken" in taken.stderr
    assert _rows(folder, "select count(*) from group_moderators") == [(0,)]


def test_a_moderator_bans_and_unbans_an_account(folder: Path) -> None:
    assert run(folder, "group", "create", "raad").returncode == 0
    assert run(folder, "account", "create", "piet").returncode == 0
    assert run(folder, "group", "moderator", "add", "raad", "jan").returncode == 0
    not_a_moderator = run(folder, "group", "unban", "raad", "jan", "--by", "piet")
    assert not_a_moderator.returncode == 2 and "does not moderate" in not_a_moderator.stderr
    assert run(folder, "group", "ban", "raad", "piet", "--by", "jan", "--reason", "spam").returncode == 0
    blocks = (
        "select count(*) from blocks join accounts on accounts.id = blocks.account_id where username = 'raad'"
    )
    assert _rows(folder, blocks) == [(1,)]
    lifted = run(folder, "group", "unban", "raad", "piet", "--by", "jan")
    assert lifted.returncode == 0 and "may join @raad again" in lifted.stdout
    assert _rows(folder, blocks) == [(0,)]
    again = run(folder, "group", "unban", "raad", "piet", "--by", "jan")
    assert again.returncode == 0 and "was not banned" in again.stdout
    actions = [row[0] for row in _rows(folder, "select action from audit_log where action like 'group.%ban'")]
    assert actions == ["group.ban", "group.unban"]
    reasons = _rows(
        folder, "select json_extract(details, '$.reason') from audit_log where action = 'group.ban'"
    )
    assert reasons == [("spam",)]
