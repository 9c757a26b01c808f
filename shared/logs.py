"""Structured JSON logs. Only whitelisted fields are written, so personal data from request
bodies or exception messages about people cannot leak into the log by accident."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

SAFE_FIELDS = (
    "service", "method", "path", "status", "duration_ms", "actor", "role", "source", "consumer",
    "event_id", "event_type", "position", "held", "published", "offset", "lag", "request_id", "count", "pid",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            # Our own messages are constant strings; third-party ones (kafka, gunicorn) are formatted
            # with their arguments, which carry hosts and offsets, never our data.
            "msg": record.getMessage() if not record.name.startswith("delaktig") else str(record.msg),
        }
        for name in SAFE_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type only: messages may quote input that holds personal data.
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


class StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (gunicorn and test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def configure(level: int = logging.INFO) -> None:
    """Send every log record through the JSON formatter on stderr (once per process)."""
    root = logging.getLogger()
    if any(isinstance(h, StderrHandler) for h in root.handlers):
        return
    for existing in list(root.handlers):
        if type(existing) is logging.StreamHandler:
            root.removeHandler(existing)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("kafka", "werkzeug", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
