"""The node of this process's ids (storage.ids): the next number of the database's `process_nodes` counter.

Every process that writes rows opens the database through `plein.app.build_context`, which calls
`take_process_node` once, so two processes running at the same time hold different nodes (up to 256 starts
apart). On a multi-domain install the process's first domain names it (the primary, unless a command names a
`--domain`).
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, insert

from storage.db import Database
from storage.ids import NODES, process_node_named, set_process_node
from storage.models import ProcessNode

logger = logging.getLogger(__name__)


async def next_process_number(db: Database) -> int:
    """The counter's next number; never one it gave before (the row is removed, the counter stays)."""
    async with db.transaction() as session:
        number = (await session.execute(insert(ProcessNode).returning(ProcessNode.id))).scalar_one()
        await session.execute(delete(ProcessNode).where(ProcessNode.id == number))
    return int(number)


async def take_process_node(db: Database) -> None:
    """Name this process's node by the counter's next number, unless an earlier database named it."""
    if process_node_named():
        return
    number = await next_process_number(db)
    if set_process_node(number):
        logger.debug("process node %d", number % NODES)
