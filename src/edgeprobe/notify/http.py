"""One bounded HTTP call for notifications: no redirects, a capped answer, safe messages.

A redirect is never followed (a 307 would re-send the issue body, the token or the report to
another host); an answer is read up to ``MAX_ANSWER`` bytes and no further; a failure's
message names what failed and the status, never a URL (webhook URLs are secrets).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from edgeprobe.observe.bounded import read_capped

MAX_ANSWER = 4 * 1024 * 1024


class Failed(Exception):
    """One call failed; ``str()`` is safe to show. ``status``: the HTTP status, if any;
    ``retry_after``: seconds the server asked us to wait (429/503), if it said."""

    def __init__(self, message: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    json: Any


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < 86_400 else None


async def call(session: Any, method: str, url: str, what: str, **kwargs: Any) -> Answer:
    """``what`` names the call in messages. Raises Failed for any failure, remote or local."""
    import aiohttp

    try:
        async with session.request(method, url, allow_redirects=False, **kwargs) as resp:
            data = await read_capped(resp, MAX_ANSWER)
            if data is None:
                raise Failed(f"{what}: answer over {MAX_ANSWER // (1024 * 1024)} MiB, not read",
                             resp.status)
            if 300 <= resp.status < 400:
                raise Failed(f"{what}: HTTP {resp.status} redirect (not followed)", resp.status)
            if resp.status >= 400:
                raise Failed(f"{what}: HTTP {resp.status}", resp.status,
                             _retry_after(resp.headers.get("Retry-After")))
            body = None
            if resp.content_type == "application/json" and data:
                body = json.loads(data)
            return Answer(resp.status, dict(resp.headers), body)
    except Failed:
        raise
    except (aiohttp.ClientError, TimeoutError, ValueError, RecursionError) as exc:
        raise Failed(f"{what}: {type(exc).__name__}") from exc
