"""Time-sortable 64-bit ids, as Mastodon makes them: milliseconds since the epoch in the high bits, 16 low
bits of sequence and randomness, so ids sort by creation time across processes and fit a signed BIGINT.

Ids are integers in the database and strings in the client API.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime


class IdGenerator:
    """Makes unique, increasing ids within a process; across processes the random low bits avoid clashes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0
        # Uniqueness needs independent bits per process, not secrecy (the time in the high bits is public
        # anyway): a generator seeded from the OS once, not a system call per id.
        self._random = random.Random()

    def next_id(self, at: datetime | None = None) -> int:
        """A new id for a row created now (or at `at`, for remote objects with a published time)."""
        if at is not None:
            # Back-dated ids (remote posts) only need to sort right; randomness keeps them unique.
            return (int(at.timestamp() * 1000) << 16) | self._random.getrandbits(16)
        with self._lock:
            candidate = (int(time.time() * 1000) << 16) | self._random.getrandbits(12)
            if candidate <= self._last:
                candidate = self._last + 1
            self._last = candidate
            return candidate


def id_floor(at: datetime) -> int:
    """The smallest id that can belong to a row created at `at` (for time-based pagination)."""
    return int(at.timestamp() * 1000) << 16


# One generator per process: ids must be unique across every session and task of the process, which is the
# one place a module-level object is the right scope.
_process_generator = IdGenerator()


def new_id(at: datetime | None = None) -> int:
    """A new time-sortable id (see `IdGenerator.next_id`)."""
    return _process_generator.next_id(at)


MAX_ID = (1 << 63) - 1  # the largest value a signed BIGINT column holds


def parse_id(value: object) -> int | None:
    """The id `value` spells, or None when it is not a canonical id.

    Canonical: a JSON integer, or a string of ASCII digits without a sign or leading zeros, within
    0..MAX_ID. Everything else — Unicode digits (`²`, `١٢٣`, which `int()` and `str.isdigit` accept),
    `-1`, `1e3`, `1_000`, spaces, 20 digits — is refused here, so no caller hands the database a value it
    cannot hold (an overflow there is a 500) or gives one object two URLs. Every path and query id of every
    route goes through this function.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_ID else None
    if not isinstance(value, str) or not 0 < len(value) <= 19 or not value.isascii() or not value.isdigit():
        return None
    if value[0] == "0" and value != "0":
        return None
    number = int(value)
    return number if number <= MAX_ID else None
