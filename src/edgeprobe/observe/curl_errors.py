"""libcurl's error codes → FetchError kinds, by a table.

A timeout needs to know how far the request got (connected? an answer begun?), so it is
decided outside the table; everything libcurl reports is a finding on the node, never an
exception: a code the table does not name is a protocol error with libcurl's own words.
"""

from __future__ import annotations

import pycurl

from edgeprobe.errors import FetchError

# code → (kind, what to say before libcurl's own message)
_TABLE: dict[int, tuple[str, str]] = {
    pycurl.E_COULDNT_CONNECT: ("unreachable", "cannot connect"),
    pycurl.E_COULDNT_RESOLVE_HOST: ("unreachable", "cannot resolve"),
    pycurl.E_GOT_NOTHING: ("unreachable",
                           "the server closed the connection without answering"),
    pycurl.E_RECV_ERROR: ("unreachable", "connection failed"),
    pycurl.E_SEND_ERROR: ("unreachable", "connection failed"),
    pycurl.E_SSL_CONNECT_ERROR: ("tls_error", "TLS failed"),
    pycurl.E_PEER_FAILED_VERIFICATION: ("tls_error", "certificate rejected"),
    pycurl.E_SSL_CACERT_BADFILE: ("tls_error", "TLS failed"),
    pycurl.E_PARTIAL_FILE: ("truncated", "the body ended before Content-Length was reached"),
    pycurl.E_FTP_WEIRD_SERVER_REPLY: ("protocol_error", "invalid HTTP response"),  # 8: any
    # protocol's CURLE_WEIRD_SERVER_REPLY, under its old name in pycurl
    pycurl.E_HTTP2: ("protocol_error", "invalid HTTP/2"),
    pycurl.E_BAD_CONTENT_ENCODING: ("protocol_error", "invalid content encoding"),
}


def map_curl_error(code: int, message: str, *, connected: bool, answered: bool) -> FetchError:
    """The FetchError for a transfer that libcurl ended with ``code``."""
    if code == pycurl.E_OPERATION_TIMEDOUT:
        if not connected:
            return FetchError("unreachable", "connection timed out")
        stage = "the body" if answered else "the response headers"
        return FetchError("timeout", f"timed out waiting for {stage}")
    kind, what = _TABLE.get(code, ("protocol_error", f"libcurl error {code}"))
    if kind == "truncated":
        return FetchError(kind, what)
    return FetchError(kind, f"{what}: {message}"[:300] if message else what)
