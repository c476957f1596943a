"""aiohttp, ssl and socket errors of one fetch → FetchError kinds, by a table.

The table is looked up along the exception's class hierarchy (its MRO), most specific class
first, so the order of its rows does not matter. A timeout needs to know how far the
request got (connected? headers?), so it is decided before the table.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

import aiohttp

from edgeprobe.errors import FetchError

Rule = Callable[[BaseException], FetchError]


def _cut(text: str) -> str:
    return text[:300]


def _strerror(exc: BaseException) -> str:
    return getattr(getattr(exc, "os_error", None), "strerror", None) or str(exc)


_TABLE: dict[type[BaseException], Rule] = {
    aiohttp.ClientConnectorCertificateError: lambda e: FetchError(
        "tls_error", f"certificate rejected: {getattr(e, 'certificate_error', e)}"),
    aiohttp.ClientSSLError: lambda e: FetchError("tls_error", f"TLS failed: {e}"),
    ssl.SSLError: lambda e: FetchError("tls_error", f"TLS failed: {e}"),
    aiohttp.ClientConnectorError: lambda e: FetchError("unreachable",
                                                       f"cannot connect: {_strerror(e)}"),
    aiohttp.ClientPayloadError: lambda _: FetchError(
        "truncated", "the body ended before Content-Length was reached"),
    aiohttp.ServerDisconnectedError: lambda _: FetchError(
        "unreachable", "the server closed the connection without answering"),
    aiohttp.ClientResponseError: lambda e: FetchError(
        "protocol_error", _cut(f"invalid HTTP response: {getattr(e, 'message', e)}")),
    aiohttp.ClientOSError: lambda e: FetchError("unreachable", _cut(f"connection failed: {e}")),
    ConnectionError: lambda e: FetchError("unreachable", _cut(f"connection failed: {e}")),
    aiohttp.ClientError: lambda e: FetchError("protocol_error",
                                              _cut(f"{type(e).__name__}: {e}")),
    ValueError: lambda e: FetchError("protocol_error", _cut(f"{type(e).__name__}: {e}")),
    OSError: lambda e: FetchError("protocol_error", _cut(f"{type(e).__name__}: {e}")),
}


def map_exception(exc: BaseException, ctx: dict[str, float]) -> FetchError:
    """The FetchError for ``exc``; anything the table does not know is a bug: re-raised."""
    if isinstance(exc, TimeoutError):
        if "conn_end" in ctx or "conn_start" not in ctx:  # connected, or on a reused one
            stage = "the body" if "headers" in ctx else "the response headers"
            return FetchError("timeout", f"timed out waiting for {stage}")
        return FetchError("unreachable", "connection timed out")
    for cls in type(exc).__mro__:
        rule = _TABLE.get(cls)
        if rule is not None:
            return rule(exc)
    raise exc
