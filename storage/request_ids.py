"""The id of the request being served — or of the request a background job was queued by — for logs.

Set by `plein.access_log` while a request is served and by the worker while it runs a job queued during
one; read by the log filter (`plein.logs`) and written into every job queued (`storage.queue.job_row`), so an
operator can follow one post from the API call through its fan-out and deliveries.
"""

from __future__ import annotations

from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")
