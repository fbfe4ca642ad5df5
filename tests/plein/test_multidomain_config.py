"""`[[domains]]` in the config file: each domain's derived settings, the errors that stop a bad entry, the
`--domain` choice of the CLI, and that a single-domain install is served without a Host router."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from plein.app import create_server_app
from plein.config import ConfigError, load_settings, load_tenants
from plein.host_router import HostRouter
from support.instance import make_settings, run_plein

PRIMARY = '[instance]\ndomain = "a.example"\nbase_url = "https://a.example"\n[secrets]\nsecret_key = "k"\n'
SECOND = '[[domains]]\ndomain = "b.example"\nbase_url = "https://b.example"\n'


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plein.toml"
    path.write_text(text)
    return path


def test_each_domain_gets_its_own_instance_data_and_secret(tmp_path: Path) -> None:
    (tmp_path / "about-b.md").write_text("About B")
    config = _config(
        tmp_path,
        PRIMARY
        + '[database]\nurl = "postgresql+asyncpg://plein@db/plein"\n'
        + SECOND
        + 'name = "Agency B"\ncontact_email = "b@b.example"\ndefault_language = "en"\nlanguages = ["en", "fy"]\n'
        + 'about_file = "about-b.md"\n[domains.registration]\nmode = "approval"\n',
    )
    primary, second = load_tenants(config)
    assert load_settings(config) == primary
    assert (primary.domain, primary.base_url, primary.database.schema) == (
        "a.example",
        "https://a.example",
        "",
    )
    assert (second.domain, second.base_url, second.instance.name) == (
        "b.example",
        "https://b.example",
        "Agency B",
    )
    assert (second.instance.contact_email, second.instance.default_language) == ("b@b.example", "en")
    assert second.instance.languages == ("en", "fy")
    assert second.instance.about_file == str(tmp_path.resolve() / "about-b.md")
    assert (primary.registration.mode, second.registration.mode) == ("closed", "approval")
    assert second.server.data_dir == primary.server.data_dir / "domains" / "b.example"
    assert second.database.schema == "plein_b_example"
    assert second.secrets.secret_key not in ("", primary.secrets.secret_key)
    assert second.database_url == primary.database_url  # one PostgreSQL database, a schema each


def test_sqlite_domains_each_have_their_own_file(tmp_path: Path) -> None:
    primary, second = load_tenants(_config(tmp_path, PRIMARY + SECOND))
    assert second.database.schema == ""
    assert second.database_url != primary.database_url
    assert second.database_url.endswith("/domains/b.example/plein.db")


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        (SECOND + SECOND, "domains[1].domain", "configured twice"),
        ('[[domains]]\ndomain = "a.example"\nbase_url = "https://a.example"\n', "domains[0].domain", "twice"),
        (
            '[[domains]]\ndomain = "b.example"\nbase_url = "https://c.example"\n',
            "domains[0].domain",
            "host of",
        ),
        ('[[domains]]\ndomain = "b.example"\n', "domains[0].base_url", "required"),
        (SECOND + "listen_port = 1\n", "domains[0].listen_port", "unknown key"),
        (SECOND + '[domains.registration]\nmode = "sometimes"\n', "domains[0].registration.mode", "one of"),
        (SECOND + '[domains.database]\nurl = ""\n', "domains[0].database", "unknown key"),
        ('domains = "b.example"\n', "domains", "array of tables"),
    ],
)
def test_a_bad_domain_entry_is_a_config_error(tmp_path: Path, extra: str, key: str, says: str) -> None:
    text = PRIMARY + extra if extra.startswith("[[") else extra + PRIMARY
    with pytest.raises(ConfigError) as raised:
        load_tenants(_config(tmp_path, text))
    assert raised.value.key == key
    assert says in str(raised.value)


def test_single_domain_is_served_without_a_router(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert isinstance(create_server_app((settings,)), Starlette)
    other = make_settings(tmp_path / "b")
    assert isinstance(create_server_app((settings, other)), HostRouter)


async def test_the_router_sends_an_unknown_host_away_with_421(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    router = create_server_app((settings, make_settings(tmp_path / "b")))
    transport = httpx.ASGITransport(app=router)  # no lifespan: no domain is reached
    async with httpx.AsyncClient(transport=transport, base_url="http://elsewhere.example") as client:
        response = await client.get("/api/v2/instance")
    assert response.status_code == 421
    assert response.json() == {"error": "This server does not serve that host name"}


def test_the_cli_acts_on_the_domain_it_is_given(tmp_path: Path) -> None:
    config = _config(tmp_path, PRIMARY + '[server]\ndata_dir = "data"\n' + SECOND)
    migrated = run_plein(config, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.splitlines() == [
        "a.example: database is up to date",
        "b.example: database is up to date",
    ]
    assert (tmp_path / "data" / "domains" / "b.example" / "plein.db").is_file()
    assert (
        run_plein(
            config, "--domain", "b.example", "account", "create", "bob", "--password", "x" * 12
        ).returncode
        == 0
    )
    listed_b = run_plein(config, "--domain", "b.example", "account", "list").stdout
    listed_a = run_plein(config, "account", "list").stdout
    assert "bob" in listed_b
    assert "bob" not in listed_a
    unknown = run_plein(config, "--domain", "c.example", "account", "list")
    assert unknown.returncode == 2
    assert "'c.example' is not a configured domain" in unknown.stderr
    doctor = run_plein(config, "--domain", "b.example", "doctor")
    assert "domains/b.example" in doctor.stdout
