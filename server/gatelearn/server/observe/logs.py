"""The server's log lines: plain text (the default) or JSON lines carrying the call's request id.

A call's request id is the `x-request-id` metadata its client sent; the RPC interceptor
(`rpc_observer`) keeps it in `request_id` while the call's handler runs, so every line logged
on that thread for that call carries it.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "configure_logging", "demote_peer_caused", "request_id"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_REQUEST_ID = 128  # characters of a client's request id that reach a log line

request_id: ContextVar[str] = ContextVar("gatelearn_request_id", default="")

# Lines gRPC logs as errors, with a traceback, for what a client did, so that any client can
# write them at will: an answer that could not be sent because the client cancelled the call or
# went away while the answer waited for it to read (gRPC sees that the client closed only after
# the failed send), and metadata whose value is not UTF-8 (the line quotes the whole value).
_GRPC_LOGGER = "grpc._cython.cygrpc"
_PEER_CAUSED = ("ExecuteBatchError raised in core by servicer method", "Invalid encoding on ")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (UTC, ISO 8601), level, logger, message, and
    request_id and exception when there are any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if current := request_id.get():
            line["request_id"] = current
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, log_format: str) -> None:
    """Send the process's log records to stderr at `level`, as text or JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logging.basicConfig(level=level, handlers=[handler])


class _PeerCaused(logging.Filter):
    """gRPC's errors that a client caused, as DEBUG lines without a traceback: the call itself
    is logged (and counted) with its status."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(_PEER_CAUSED):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        record.exc_info, record.exc_text = None, None
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def demote_peer_caused() -> None:
    """Log gRPC's errors that a client caused at DEBUG (the filter is added once a process)."""
    grpc_log = logging.getLogger(_GRPC_LOGGER)
    if not any(isinstance(each, _PeerCaused) for each in grpc_log.filters):
        grpc_log.addFilter(_PeerCaused())
