"""Count the operations of the Mastodon OpenAPI description that Plein serves, by matching each documented
(method, path) against the application's routes — no server, no database.

    python scripts/openapi_coverage.py [--schema PATH] [--list missing|empty|served]

An operation is *served* when a route matches it fully and is not one of the start-up endpoints that answer
an empty list (clientapi/startup.py), *empty* when it is one of those, *missing* otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from starlette.routing import BaseRoute, Match

from clientapi.startup import EMPTY_LISTS
from plein.app import all_routes

METHODS = ("get", "post", "put", "patch", "delete")
DEFAULT_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "mastodon-openapi" / "schema.json"
# A value for each kind of path parameter that a route converter of ours accepts.
PARAMETER_VALUES = {"name": "example", "hashtag": "example", "acct": "user", "group_key": "ungrouped-1"}


def concrete_path(template: str) -> str:
    """`/api/v1/accounts/{id}/follow` → `/api/v1/accounts/1/follow`."""
    return re.sub(r"\{(\w+)\}", lambda match: PARAMETER_VALUES.get(match.group(1), "1"), template)


def matches(routes: list[BaseRoute], method: str, path: str) -> bool:
    """Whether some route takes `method` on `path` (a path match with another method does not count)."""
    scope = {"type": "http", "method": method.upper(), "path": path, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in routes)


def classify(schema: dict[str, object]) -> dict[str, list[str]]:
    """Operations by outcome: served, empty, missing (each as `METHOD /path`)."""
    routes = all_routes()
    empty_paths = {path for path, _ in EMPTY_LISTS}
    outcome: dict[str, list[str]] = {"served": [], "empty": [], "missing": []}
    for template, operations in schema["paths"].items():  # type: ignore[attr-defined]
        for method in operations:
            if method not in METHODS:
                continue
            path = concrete_path(template)
            label = f"{method.upper()} {template}"
            if not matches(routes, method, path):
                outcome["missing"].append(label)
            elif method == "get" and template in empty_paths:
                outcome["empty"].append(label)
            else:
                outcome["served"].append(label)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    parser.add_argument("--list", choices=("missing", "empty", "served"))
    arguments = parser.parse_args()
    outcome = classify(json.loads(arguments.schema.read_text()))
    total = sum(len(labels) for labels in outcome.values())
    print(
        f"operations {total}: served {len(outcome['served'])}, answer empty {len(outcome['empty'])}, "
        f"missing {len(outcome['missing'])}"
    )
    if arguments.list:
        print("\n".join(sorted(outcome[arguments.list])))


if __name__ == "__main__":
    main()
