"""What software this is: the version reported by NodeInfo, the instance API and the User-Agent."""

from __future__ import annotations

import importlib.metadata

SOFTWARE_NAME = "plein"
# The Mastodon release whose client API Plein serves: `/api/v1/instance` reports "4.3.0 (compatible; Plein
# X.Y.Z)" and NodeInfo names it as `metadata.upstream`, which is how client libraries (megalodon's detector)
# recognise a Mastodon-compatible server that is not Mastodon.
MASTODON_COMPATIBILITY = "4.3.0"


def software_version() -> str:
    """Plein's own version, from the installed package metadata."""
    try:
        return importlib.metadata.version(SOFTWARE_NAME)
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"
