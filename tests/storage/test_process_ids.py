"""Ids made at the same moment by several processes never clash (storage.ids, storage.process_nodes).

A worker expanding a fan-out makes hundreds of ids in one millisecond: a run of consecutive values. With only
random low bits, two processes' runs overlapped about one time in four (a duplicate key, the page refused).
"""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import Database
from storage.ids import NODES, IdGenerator, id_floor
from storage.process_nodes import next_process_number


def _frozen() -> float:
    return 1_780_000_000.123  # every id of the test in the same millisecond


def test_bursts_of_two_processes_in_one_millisecond_stay_apart() -> None:
    first, second = IdGenerator(node=1, clock=_frozen), IdGenerator(node=2, clock=_frozen)
    burst = 5_000  # more than one millisecond's sequence holds: the runs borrow the next milliseconds
    ids_of_first = [first.next_id() for _ in range(burst)]
    ids_of_second = [second.next_id() for _ in range(burst)]
    assert not set(ids_of_first) & set(ids_of_second)
    for ids in (ids_of_first, ids_of_second):
        assert ids == sorted(ids) and len(set(ids)) == burst
        # Still sorted by time: the millisecond is in the high bits, where pagination by time looks.
        assert ids[0] >= id_floor(datetime.fromtimestamp(_frozen(), UTC))
        assert ids[0] >> 16 == int(_frozen() * 1000)


def test_an_unnamed_generator_has_a_node_and_keeps_ids_increasing() -> None:
    generator = IdGenerator()
    assert 0 <= generator.node < NODES and not generator.named
    ids = [generator.next_id() for _ in range(1_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {value % NODES for value in ids} == {generator.node}


async def test_the_counter_never_hands_out_a_number_twice(db: Database) -> None:
    numbers = [await next_process_number(db) for _ in range(5)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5
