"""npm packages the tests use (a Fedify peer, axe-core), installed on first use with `npm ci` from the
folder's lockfile, and again only when the lockfile changes (a stamp in node_modules holds its digest)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

_INSTALL_STAMP = ".plein-lock-sha256"


class NpmInstallError(RuntimeError):
    """Node.js or npm is missing, or `npm ci` failed."""


def ensure_npm_installed(folder: Path) -> None:
    """Install `folder`'s npm packages with `npm ci` unless node_modules already matches its lockfile."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise NpmInstallError(
            f"{folder.name} needs Node.js 20+ and npm on PATH (node: {node}, npm: {npm}); "
            "install them, e.g. `apt-get install nodejs npm`."
        )
    stamp = folder / "node_modules" / _INSTALL_STAMP
    wanted = hashlib.sha256((folder / "package-lock.json").read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return
    completed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=folder, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise NpmInstallError(
            f"`npm ci` in {folder} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    stamp.write_text(wanted + "\n")
