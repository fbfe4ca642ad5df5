"""What software this is: the version reported by NodeInfo, the instance API and the User-Agent."""

from __future__ import annotations

import importlib.metadata

SOFTWARE_NAME = "plein"


def software_version() -> str:
    """Plein's own version, from the installed package metadata."""
    try:
        return importlib.metadata.version(SOFTWARE_NAME)
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"
