"""BagIt packages (RFC 8493): a `data/` payload, its SHA-256 manifest, and tag files any BagIt tool can check.

Written here rather than with `bagit.make_bag`, which changes the process's working directory (unsafe in a
server running other tasks) and lists tag files in directory order; these bytes depend only on the payload
and the info given, so the same period exported twice gives the same package. Checking uses the Library of
Congress's `bagit` package, an implementation independent of the one that wrote the bag.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from pathlib import Path

import bagit

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
CHUNK = 1 << 20


class BagError(Exception):
    """A package cannot be written where asked (the folder exists and is not empty)."""


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _encode_path(relative: str) -> str:
    """A manifest path as RFC 8493 §2.1.3 writes it: `%`, CR and LF percent-encoded."""
    return relative.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def write_bag(folder: Path, payload: Mapping[str, bytes | Path], info: Mapping[str, str]) -> int:
    """Write `payload` (path under data/ → bytes, or a file to copy) as a bag in `folder`; returns the
    payload's size in bytes. `info` goes to bag-info.txt with the Payload-Oxum added."""
    if folder.exists() and any(folder.iterdir()):
        raise BagError(f"{folder} exists and is not empty")
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    manifest = []
    total = 0
    for relative in sorted(payload):
        target = data / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        content = payload[relative]
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)
        total += target.stat().st_size
        manifest.append(f"{_sha256_of(target)}  {_encode_path('data/' + relative)}\n")
    fields = {**info, "Payload-Oxum": f"{total}.{len(payload)}"}
    tag_files = {
        "bagit.txt": BAGIT_TXT,
        "bag-info.txt": "".join(f"{key}: {fields[key]}\n" for key in sorted(fields)).encode(),
        "manifest-sha256.txt": "".join(manifest).encode(),
    }
    for name, content in tag_files.items():
        (folder / name).write_bytes(content)
    tag_manifest = "".join(f"{_sha256_of(folder / name)}  {name}\n" for name in sorted(tag_files))
    (folder / "tagmanifest-sha256.txt").write_text(tag_manifest)
    return total


def verify_bag(folder: Path) -> list[str]:
    """What is wrong with the bag in `folder` (missing, changed or extra files, bad tag files); [] when it
    is complete and every checksum matches."""
    try:
        bagit.Bag(str(folder)).validate()
    except bagit.BagValidationError as error:
        details = [str(detail) for detail in error.details or []]
        return details or [str(error.message)]
    except bagit.BagError as error:
        return [str(error)]
    return []
