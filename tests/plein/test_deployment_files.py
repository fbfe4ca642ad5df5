"""The shipped deployment files are valid for the tools that read them: the systemd unit passes
`systemd-analyze verify` without a warning (its install prefix pointed at this checkout's virtualenv), and the
Caddyfile passes `caddy validate` (Debian's caddy, installed by .ci/run). nginx's configuration is exercised
for real in test_behind_nginx.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PLEIN = Path(sys.executable).parent / "plein"


def test_the_systemd_unit_verifies_cleanly(tmp_path: Path) -> None:
    unit = (DEPLOY / "systemd" / "plein.service").read_text()
    assert "/opt/plein/bin/plein" in unit and "ProtectSystem=strict" in unit and "User=plein" in unit
    (tmp_path / "plein.service").write_text(unit.replace("/opt/plein/bin/plein", str(PLEIN)))
    result = subprocess.run(
        [shutil.which("systemd-analyze") or "systemd-analyze", "verify", str(tmp_path / "plein.service")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    # The check is not blind: a misspelt key is reported.
    (tmp_path / "plein.service").write_text(
        unit.replace("/opt/plein/bin/plein", str(PLEIN)).replace("ProtectHome=", "ProtectHom=")
    )
    broken = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "plein.service")], capture_output=True, text=True
    )
    assert "Unknown key" in broken.stderr


def test_the_caddyfile_validates() -> None:
    result = subprocess.run(
        [
            shutil.which("caddy") or "/usr/bin/caddy",
            "validate",
            "--adapter",
            "caddyfile",
            "--config",
            str(DEPLOY / "caddy" / "Caddyfile"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "Valid configuration" in result.stdout + result.stderr, result.stderr
