"""Configuration: precedence CLI > environment > file > default, and validation naming the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from plein.config import ConfigError, load_settings, settings_to_toml

GOOD_FILE = """
[instance]
domain = "gov.example"
base_url = "https://gov.example"

[federation]
allow_private_addresses = ["127.0.0.0/8"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plein.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file() -> None:
    settings = load_settings(None)
    assert settings.base_url == "http://localhost:8000"
    assert settings.registration.mode == "closed"
    assert settings.federation.allow_private_addresses == ()
    assert settings.limits.max_body_bytes == 1024 * 1024
    assert settings.database_url.startswith("sqlite+aiosqlite:///") and settings.database_url.endswith(
        "plein.db"
    )


def test_precedence_cli_over_environment_over_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_FILE + '\n[registration]\nmode = "approval"\n[server]\nlisten_port = 9000\n')
    environ = {"PLEIN_REGISTRATION__MODE": "open", "PLEIN_SERVER__LISTEN_PORT": "9100"}
    settings = load_settings(path, environ=environ, overrides={"server.listen_port": 9200})
    assert settings.registration.mode == "open"  # environment beats file
    assert settings.server.listen_port == 9200  # CLI beats environment
    assert settings.federation.allow_private_addresses == ("127.0.0.0/8",)
    assert load_settings(path).registration.mode == "approval"


def test_environment_values_are_typed(tmp_path: Path) -> None:
    environ = {
        "PLEIN_FEDERATION__AUTHORIZED_FETCH": "on",
        "PLEIN_LIMITS__FETCH_TIMEOUT_SECONDS": "12.5",
        "PLEIN_FEDERATION__ALLOW_PRIVATE_ADDRESSES": "10.0.0.0/8, 127.0.0.1/32",
    }
    settings = load_settings(write(tmp_path, GOOD_FILE), environ=environ)
    assert settings.federation.authorized_fetch is True
    assert settings.limits.fetch_timeout_seconds == 12.5
    assert settings.federation.allow_private_addresses == ("10.0.0.0/8", "127.0.0.1/32")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[instance]\ncolour = "blue"\n', "instance.colour"),
        ('[instance]\nlanguages = ["nl", "zz"]\n', "instance.languages"),
        ("[nonsense]\nx = 1\n", "nonsense"),
        ('[server]\nlisten_port = "eighty"\n', "server.listen_port"),
        ("[server]\nlisten_port = 70000\n", "server.listen_port"),
        ('[federation]\nauthorized_fetch = "maybe"\n', "federation.authorized_fetch"),
        ('[registration]\nmode = "whoever"\n', "registration.mode"),
        ('[instance]\nbase_url = "ftp://gov.example"\ndomain = "gov.example"\n', "instance.base_url"),
        ('[instance]\nbase_url = "https://gov.example/path"\ndomain = "gov.example"\n', "instance.base_url"),
        ('[instance]\nbase_url = "https://gov.example"\ndomain = "other.example"\n', "instance.domain"),
        ('[database]\nurl = "mysql://x/y"\n', "database.url"),
        ("[database]\npool_size = 0\n", "database.pool_size"),
        ("[database]\nmax_overflow = -1\n", "database.max_overflow"),
        ('[federation]\nallow_private_addresses = ["not-a-cidr"]\n', "federation.allow_private_addresses"),
        ("[federation]\nallow_private_addresses = 5\n", "federation.allow_private_addresses"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    assert caught.value.key == key
    assert key in str(caught.value)


def test_unknown_environment_key_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ={"PLEIN_SERVER__LISTEN_PROT": "1"})
    assert caught.value.key == "server.listen_prot"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[instance\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml")


def test_rendered_config_loads_back(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD_FILE))
    again = load_settings(write(tmp_path, settings_to_toml(settings)))
    assert again == settings


def test_example_config_documents_every_key_with_its_default() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    # Loaded from the file, the relative default data folder is anchored at the file's folder.
    assert load_settings(example) == load_settings(
        None, overrides={"server.data_dir": example.parent / "data"}
    )
    text = example.read_text()
    for line in settings_to_toml(load_settings(None)).splitlines():
        if "=" in line:
            key = line.split("=", 1)[0].strip()
            assert f"\n{key} =" in text or f"\n# {key} =" in text, key


def test_relative_data_dir_is_read_against_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write(folder, GOOD_FILE + '\n[server]\ndata_dir = "state"\n')
    monkeypatch.chdir(tmp_path)  # a working directory other than the file's folder
    assert load_settings(path).server.data_dir == folder.resolve() / "state"
    absolute = write(folder, GOOD_FILE + f'\n[server]\ndata_dir = "{tmp_path / "elsewhere"}"\n')
    assert load_settings(absolute).server.data_dir == tmp_path / "elsewhere"
    # A value from the environment or the command line is the caller's: relative to the working directory.
    assert load_settings(path, text_overrides={"server.data_dir": "here"}).server.data_dir == Path("here")


@pytest.mark.parametrize("text", ['["10.0.0.0/8", "127.0.0.1/32"]', "10.0.0.0/8,127.0.0.1/32"])
def test_text_overrides_take_lists_and_typed_scalars(text: str) -> None:
    settings = load_settings(
        None,
        text_overrides={
            "federation.allow_private_addresses": text,
            "server.listen_port": "9300",
            "federation.authorized_fetch": "true",
        },
    )
    assert settings.federation.allow_private_addresses == ("10.0.0.0/8", "127.0.0.1/32")
    assert settings.server.listen_port == 9300
    assert settings.federation.authorized_fetch is True
    with pytest.raises(ConfigError, match="federation.allow_private_addresses"):
        load_settings(None, text_overrides={"federation.allow_private_addresses": '["10.0.0.0/8"'})
