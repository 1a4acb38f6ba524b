"""Access logs without personal data.

uvicorn's access log prints the request line, query string included, and a consent check carries
the person's e-mail or phone number in its query; an unsubscribe link carries a signed token that
works as a capability. This filter keeps the method, the path (tokens masked) and the status, and
drops the query string, so ids and counts are all a log ever sees.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_CAPABILITY_PATHS = re.compile(r"^(/u/)[^/?]+")


def redact_target(target: str) -> str:
    """``/api/v1/consent/check?email=a@b.no`` -> ``/api/v1/consent/check?…``; ``/u/TOKEN`` -> ``/u/…``."""
    path, sep, _query = target.partition("?")
    path = _CAPABILITY_PATHS.sub(r"\1…", path)
    return path + ("?…" if sep else "")


class RedactAccessLog(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        # uvicorn.access records carry (client, method, target, http_version, status)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_target(args[2]), args[3], args[4])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging config with the redacting filter on the access logger."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["filters"] = {"redact": {"()": f"{__name__}.RedactAccessLog"}}
    config["handlers"] = {name: dict(handler) for name, handler in LOGGING_CONFIG["handlers"].items()}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config
