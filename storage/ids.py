"""Time-sortable 64-bit ids, as Mastodon makes them: milliseconds since the epoch in the high bits, 16 low
bits that keep ids of one millisecond apart, so ids sort by creation time across processes and fit a signed
BIGINT.

The 16 low bits are 8 bits of sequence and 8 bits naming the process (its *node*). Within a process the
sequence makes ids unique and increasing (a burst of more than 256 in one millisecond borrows the next
milliseconds); between processes the node does. Random low bits alone do not: a worker expanding a fan-out
makes hundreds of ids in one millisecond, a run of consecutive values, and two such runs of two processes
overlapped one time in four (a duplicate job id, the page of deliveries refused). Every process takes a node
from the database when it starts (`storage.process_nodes`): 256 processes running at once, counting
restarts, before a node can repeat. Mastodon gets the same guarantee from a database sequence per id.

Ids are integers in the database and strings in the client API.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import datetime

NODE_BITS = 8
NODES = 1 << NODE_BITS
SEQUENCE_BITS = 16 - NODE_BITS


class IdGenerator:
    """Makes unique, increasing ids within a process; its node keeps them apart from other processes'."""

    def __init__(self, node: int | None = None, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._last = 0  # milliseconds and sequence of the last id, without the node
        # Independent bits per process, not secrecy (the time in the high bits is public anyway): a generator
        # seeded from the OS once, not a system call per id.
        self._random = random.Random()
        # Until the database names the node (a process that never opens one), a random one.
        self.node = self._random.randrange(NODES) if node is None else node % NODES
        self.named = node is not None
        self._clock = clock

    def next_id(self, at: datetime | None = None) -> int:
        """A new id for a row created now (or at `at`, for remote objects with a published time)."""
        if at is not None:
            # Back-dated ids (remote posts) only need to sort right; randomness keeps them unique.
            return (int(at.timestamp() * 1000) << 16) | self._random.getrandbits(16)
        with self._lock:
            # A random start in the millisecond's first half leaves room for a burst without borrowing.
            candidate = (int(self._clock() * 1000) << SEQUENCE_BITS) | self._random.getrandbits(
                SEQUENCE_BITS - 1
            )
            if candidate <= self._last:
                candidate = self._last + 1
            self._last = candidate
            return (candidate << NODE_BITS) | self.node


def id_floor(at: datetime) -> int:
    """The smallest id that can belong to a row created at `at` (for time-based pagination)."""
    return int(at.timestamp() * 1000) << 16


# One generator per process: ids must be unique across every session and task of the process, which is the
# one place a module-level object is the right scope.
_process_generator = IdGenerator()


def new_id(at: datetime | None = None) -> int:
    """A new time-sortable id (see `IdGenerator.next_id`)."""
    return _process_generator.next_id(at)


def process_node_named() -> bool:
    """Whether a database has named this process's node yet."""
    return _process_generator.named


def set_process_node(node: int) -> bool:
    """Name this process's node (taken from the database at start-up, `storage.process_nodes`), once: a
    process opening several databases (the domains of a multi-domain install, tests' instances) keeps the
    first, since one sequence serves them all. False when it was named already."""
    if _process_generator.named:
        return False
    _process_generator.node = node % NODES
    _process_generator.named = True
    return True


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
