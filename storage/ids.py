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
