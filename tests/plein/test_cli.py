"""The `plein` command line, run as a real subprocess against a real data folder."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PLEIN = str(Path(sys.executable).parent / "plein")


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PLEIN, "--config", str(folder / "plein.toml"), *args], capture_output=True, text=True, cwd=folder
    )


@pytest.fixture(scope="module")
def instance_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    result = run(folder, "init", "--base-url", "https://gov.example", "--data-dir", str(folder / "data"))
    assert result.returncode == 0, result.stderr
    return folder


def count(folder: Path, sql: str) -> int:
    with sqlite3.connect(folder / "data" / "plein.db") as connection:
        return int(connection.execute(sql).fetchone()[0])


def test_init_writes_config_with_secret_and_database(instance_folder: Path) -> None:
    config = (instance_folder / "plein.toml").read_text()
    assert 'base_url = "https://gov.example"' in config and 'domain = "gov.example"' in config
    secret_line = next(line for line in config.splitlines() if line.startswith("secret_key"))
    assert len(secret_line) > 40
    assert (instance_folder / "plein.toml").stat().st_mode & 0o077 == 0
    assert count(instance_folder, "select count(*) from accounts") == 1  # the instance actor


def test_account_create_prints_generated_password(instance_folder: Path) -> None:
    result = run(
        instance_folder, "account", "create", "minister", "--role", "admin", "--email", "m@gov.example"
    )
    assert result.returncode == 0, result.stderr
    assert "created admin @minister@gov.example" in result.stdout
    assert "password: " in result.stdout
    listing = run(instance_folder, "account", "list").stdout
    assert "minister\tadmin\tactive\tm@gov.example" in listing
    stored = (
        sqlite3.connect(instance_folder / "data" / "plein.db")
        .execute("select password_hash from users")
        .fetchone()[0]
    )
    assert stored.startswith("$argon2id$")


def test_account_create_with_given_password_prints_none(instance_folder: Path) -> None:
    result = run(instance_folder, "account", "create", "clerk", "--password", "correct horse battery")
    assert result.returncode == 0 and "password:" not in result.stdout


def test_errors_are_one_line_and_change_nothing(instance_folder: Path) -> None:
    before = count(instance_folder, "select count(*) from accounts")
    for args in (
        ("account", "create", "minister"),
        ("account", "create", "bad name"),
        ("account", "suspend", "nobody"),
    ):
        result = run(instance_folder, *args)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("plein: "), result.stderr
    assert count(instance_folder, "select count(*) from accounts") == before


def test_suspend_dry_run_changes_nothing(instance_folder: Path) -> None:
    result = run(instance_folder, "account", "suspend", "clerk", "--dry-run")
    assert result.returncode == 0 and "dry run" in result.stdout
    assert count(instance_folder, "select count(*) from accounts where suspended_at is not null") == 0
    assert run(instance_folder, "account", "suspend", "clerk").returncode == 0
    assert count(instance_folder, "select count(*) from accounts where suspended_at is not null") == 1
    assert run(instance_folder, "account", "unsuspend", "clerk").returncode == 0
    audited = count(instance_folder, "select count(*) from audit_log where action like 'account.%suspend'")
    assert audited == 2  # the suspension and its lifting, not the dry run


def test_password_and_promote(instance_folder: Path) -> None:
    result = run(instance_folder, "account", "password", "clerk")
    assert result.returncode == 0 and "password: " in result.stdout and "revoked" in result.stdout
    assert run(instance_folder, "account", "promote", "clerk", "--role", "moderator").returncode == 0
    assert "clerk\tmoderator" in run(instance_folder, "account", "list").stdout


def test_domain_commands(instance_folder: Path) -> None:
    assert run(instance_folder, "domain", "block", "spam.example", "--dry-run").returncode == 0
    assert count(instance_folder, "select count(*) from domain_blocks") == 0
    assert (
        run(
            instance_folder, "domain", "block", "Spam.Example", "--severity", "silence", "--reject-media"
        ).returncode
        == 0
    )
    assert run(instance_folder, "domain", "allow", "friend.example").returncode == 0
    listing = run(instance_folder, "domain", "list").stdout
    assert "block\tspam.example\tsilence reject-media" in listing and "allow\tfriend.example" in listing
    assert run(instance_folder, "domain", "unblock", "spam.example").returncode == 0
    missing = run(instance_folder, "domain", "unblock", "spam.example")
    assert missing.returncode == 2 and "not blocked" in missing.stderr
    everything = run(instance_folder, "audit", "list").stdout.splitlines()
    audit = [line for line in everything if line.split("\t")[2].startswith("domain.")]  # other tests' too
    assert [line.split("\t")[2:4] for line in audit] == [
        ["domain.unblock", "spam.example"],
        ["domain.allow", "friend.example"],
        ["domain.block", "spam.example"],
    ]
    assert all(line.split("\t")[1].startswith("cli") for line in audit)
    for refused in (("domain", "block", "a/b"), ("domain", "disallow", "never.example")):
        result = run(instance_folder, *refused)
        assert result.returncode == 2 and result.stderr.startswith("plein: "), result.stderr
    assert run(instance_folder, "audit", "list", "--limit", "-1").returncode == 2
    assert len(run(instance_folder, "audit", "list").stdout.splitlines()) == len(everything)  # nothing logged
    assert '"severity":"silence"' in audit[-1] and '"reject_media":true' in audit[-1]


def test_bad_config_stops_with_the_key(tmp_path: Path) -> None:
    (tmp_path / "plein.toml").write_text('[server]\nlisten_port = "x"\n')
    result = run(tmp_path, "migrate")
    assert result.returncode == 2
    assert "server.listen_port" in result.stderr
    assert not (tmp_path / "data").exists()


def test_missing_config_says_how_to_start(tmp_path: Path) -> None:
    result = run(tmp_path, "serve")
    assert result.returncode == 2 and "plein init" in result.stderr


def test_help_everywhere() -> None:
    for args in (
        (),
        ("account",),
        ("account", "create"),
        ("domain", "block"),
        ("serve",),
        ("report",),
        ("audit",),
    ):
        result = subprocess.run([PLEIN, *args, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "usage: plein" in result.stdout


def test_config_elsewhere_keeps_its_data_folder_and_set_takes_a_list(tmp_path: Path) -> None:
    config_folder = tmp_path / "conf"
    config_folder.mkdir()
    config = config_folder / "plein.toml"
    init = subprocess.run(
        [
            PLEIN,
            "--config",
            str(config),
            "init",
            "--base-url",
            "https://gov.example",
            "--data-dir",
            "conf/data",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert init.returncode == 0, init.stderr
    assert 'data_dir = "data"' in config.read_text()  # written relative to the file's folder
    assert (config_folder / "data" / "plein.db").exists()
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    listing = subprocess.run(
        [PLEIN, "--config", str(config), "--set", 'federation.allow_private_addresses=["127.0.0.0/8"]']
        + ["account", "list"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
    )
    assert listing.returncode == 0, listing.stderr
    assert not (elsewhere / "data").exists()  # the data folder is found from another working directory


def test_media_prune_dry_run_counts_and_changes_nothing(instance_folder: Path) -> None:
    result = run(instance_folder, "media", "prune", "--days", "3", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "would remove 0 cached remote file(s), 0 bytes, fetched over 3 day(s) ago"
    refused = run(instance_folder, "media", "prune", "--days", "-1")
    assert refused.returncode == 2 and "--days" in refused.stderr
