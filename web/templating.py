"""The Jinja2 environment for server-rendered pages (autoescaping on; remote HTML is sanitised before it is
stored, so `| safe` is only used on stored, sanitised content)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from web.emojis import emojify

TEMPLATES_DIR = Path(__file__).parent / "templates"


def make_environment() -> Environment:
    """A fresh template environment (built in the lifespan, kept in the app state)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True),
        enable_async=False,
    )
    environment.filters["emojify"] = emojify
    return environment
