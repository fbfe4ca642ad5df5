"""How deep a parsed JSON document nests: the one check every reader of untrusted JSON makes (fetched
documents, inbox deliveries, client API bodies) before walking it."""

from __future__ import annotations

from typing import Any


def exceeds_depth(document: Any, max_depth: int) -> bool:
    """True when containers nest deeper than `max_depth` (iterative: deep input cannot blow the stack)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
