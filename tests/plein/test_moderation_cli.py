"""`plein account disable|enable|sensitive|unsensitive` and `plein instance show|set|reset`, run as real
subprocesses: they change what the web account page and the admin settings page change, with the same
checks (a refusal is one line, exit 2, nothing changed) and the same audit entries."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from support.instance import run_plein, write_config


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("moderation_cli")
    written = write_config(folder, 'name = "Gemeente Test"\n')
    assert run_plein(written, "migrate").returncode == 0
    created = run_plein(written, "account", "create", "clerk", "--password", "correct horse battery")
    assert created.returncode == 0, created.stderr
    return written


def _plein(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_plein(config, *args)


def _command(config: Path) -> list[str]:
    return [sys.executable, "-m", "plein.cli", "--config", str(config)]


def _rows(config: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(config.parent / "data" / "plein.db") as connection:
        return list(connection.execute(sql).fetchall())


def test_account_disable_enable_sensitive_unsensitive(config: Path) -> None:
    disabled = _plein(config, "account", "disable", "clerk", "--text", "phishing links")
    assert disabled.returncode == 0, disabled.stderr
    assert "@clerk: login disabled" in disabled.stdout
    assert _rows(config, "select count(*) from users where disabled_at is not null") == [(1,)]
    again = _plein(config, "account", "disable", "clerk")
    assert again.returncode == 2 and again.stderr == "plein: @clerk: the login is already disabled\n"
    assert _plein(config, "account", "enable", "clerk").returncode == 0
    assert _rows(config, "select count(*) from users where disabled_at is not null") == [(0,)]

    dry = _plein(config, "account", "sensitive", "clerk", "--dry-run")
    assert dry.returncode == 0 and "dry run" in dry.stdout
    assert _rows(config, "select count(*) from accounts where sensitized_at is not null") == [(0,)]
    assert _plein(config, "account", "sensitive", "clerk", "--text", "gore").returncode == 0
    assert _rows(config, "select count(*) from accounts where sensitized_at is not null") == [(1,)]
    assert _plein(config, "account", "unsensitive", "clerk").returncode == 0
    assert _rows(config, "select count(*) from accounts where sensitized_at is not null") == [(0,)]
    nobody = _plein(config, "account", "sensitive", "nobody")
    assert nobody.returncode == 2 and nobody.stderr.count("\n") == 1

    audited = _rows(
        config, "select action, details from audit_log where action like 'account.%' order by created_at, id"
    )
    actions = [action for action, _ in audited]
    assert actions == ["account.disable", "account.enable", "account.sensitive", "account.unsensitive"]
    assert "phishing links" in str(audited[0][1]) and "gore" in str(audited[2][1])
    # The CLI records, it does not tell: no warning, no notification.
    assert _rows(config, "select count(*) from account_warnings") == [(0,)]


def test_instance_show_set_reset(config: Path) -> None:
    shown = _plein(config, "instance", "show")
    assert shown.returncode == 0
    assert "name\tGemeente Test\tconfig" in shown.stdout
    assert _plein(config, "instance", "set", "name", "  Gemeente Voorbeeld ").returncode == 0
    assert _plein(config, "instance", "set", "registration_mode", "approval").returncode == 0
    about = "# Over ons\n\nWij zijn een gemeente.\n"
    text = subprocess.run(
        [*_command(config), "instance", "set", "about", "-"],
        input=about,
        capture_output=True,
        text=True,
        check=False,
    )
    assert text.returncode == 0, text.stderr
    shown = _plein(config, "instance", "show").stdout
    assert "name\tGemeente Voorbeeld\tset by cli:" in shown
    assert "registration_mode\tapproval\tset by" in shown
    assert f"about\t({len(about)} characters)\tset by" in shown

    before = _rows(config, "select count(*) from audit_log")
    for key, value, problem in (
        ("registration_mode", "everyone", "registration_mode: invalid"),
        ("name", "   ", "name: blank"),
        ("contact_email", "not-an-address", "contact_email: invalid"),
        ("colour", "blue", "colour: unknown field (one of name, "),
        ("description", "x" * 1001, "description: too long"),
    ):
        refused = _plein(config, "instance", "set", key, value)
        assert refused.returncode == 2 and refused.stderr.startswith(f"plein: {problem}"), refused.stderr
    assert _rows(config, "select count(*) from audit_log") == before  # refused: nothing written

    reset = _plein(config, "instance", "reset", "name")
    assert reset.returncode == 0 and "the config's value again" in reset.stdout
    assert "name\tGemeente Test\tconfig" in _plein(config, "instance", "show").stdout
    assert "was not changed" in _plein(config, "instance", "reset", "name").stdout
    actions = _rows(
        config, "select action, details from audit_log where action like 'instance.%' order by id"
    )
    assert [action for action, _ in actions] == [
        "instance.settings",
        "instance.settings",
        "instance.settings",
        "instance.settings.reset",
    ]
