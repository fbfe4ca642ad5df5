"""Logging set-up of the server processes: one line per event, as text or JSON (`server.log_format`), each
carrying the id of the request it belongs to (`storage.request_ids.REQUEST_ID`, set by `plein.access_log` and, for a job, by the worker)."""

from __future__ import annotations

import logging
import logging.config
from typing import Any

from storage.request_ids import REQUEST_ID
from storage.settings import Settings

# The id of the request being served ("" outside a request): every log record made while serving it says so.

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def logging_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for a server process: everything (uvicorn's own messages too) through
    one handler on stderr; uvicorn's access log off (`plein.access_log` writes ours, without query strings)."""
    level = settings.server.log_level.upper()
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if settings.server.log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))
