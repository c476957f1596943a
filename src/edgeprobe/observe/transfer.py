"""One libcurl transfer: its options (pinned like ``curl --connect-to``), its callbacks
(headers recorded, the body streamed through MD5 and a byte counter, never held whole),
and the FetchResult it becomes.

Safety comes from libcurl's own options: no redirect is followed, no Accept-Encoding is
sent (so nothing is decompressed), HTTP/0.9 is refused, the body is capped
(MAXFILESIZE_LARGE, and the write callback stops past ``max_body_bytes`` when the size was
not announced), a total timeout and a low-speed limit bound every request, and the
certificate is checked against the media host unless ``verify_tls = false``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pycurl

from edgeprobe._version import __version__
from edgeprobe.config import defaults
from edgeprobe.config.settings import ProbeSettings, SiteSettings
from edgeprobe.observe.curl_errors import map_curl_error
from edgeprobe.observe.observations import (
    HTTP1,
    HTTP3,
    MAIN,
    RANGE,
    RANGE_BYTES,
    Certificate,
    FetchResult,
    SampleObject,
    Target,
    Timing,
)
from edgeprobe.observe.repro import connect_to, curl_command

ERROR_BODY_READ = 64 * 1024  # bytes kept of a non-2xx body (its excerpt comes from these)
BUFFER = 64 * 1024  # libcurl's receive buffer: a TLS record holds at most 16 KiB anyway
LOW_SPEED_BYTES = 1  # bytes/s under which a transfer counts as stalled (for timeout_s)
RECORDED_HEADERS = ("Cache-Control", "Age", "X-Cache-Status", "X-Cache", "X-Cached",
                    "CF-Cache-Status", "Content-Type", "Content-Length", "ETag",
                    "Last-Modified", "Server", "Via", "Location", "Expires",
                    # what a browser needs (docs/analysis.md, "As a browser sees it")
                    "Access-Control-Allow-Origin", "X-Content-Type-Options", "Alt-Svc",
                    "Content-Range")
FIRST_BYTES = 16  # of a 2xx body: enough to tell PNG, JPEG, GIF, WebP, AVIF, MP4, WebM…
# libcurl's CURLINFO_HTTP_VERSION → the protocol's name (ALPN's words)
PROTOCOLS = {1: "http/1.0", 2: "http/1.1", 3: "h2", 30: "h3"}
HAS_HTTP2 = bool(pycurl.version_info()[4] & pycurl.VERSION_HTTP2)
HAS_HTTP3 = bool(pycurl.version_info()[4] & pycurl.VERSION_HTTP3)
_RECORDED = {h.lower().encode(): h for h in RECORDED_HEADERS}
# Header values repeat across a fleet (a Server, a type, an object's ETag on every node):
# each distinct short one is decoded once and shared, which saved 4 MiB of the two
# processes' 107 at 4,000 checks (docs/performance.md). Bounded: an edge that sends a new
# value every time fills it once, and values past VALUE_SHARED bytes are never kept.
_VALUES: dict[bytes, str] = {}
VALUES_KEPT = 4096
VALUE_SHARED = 128


def base_url(site: SiteSettings, port: int) -> str:
    default = 443 if site.scheme == "https" else 80
    return f"{site.scheme}://{site.media_host}" + ("" if port == default else f":{port}")


@dataclass
class Transfer:
    """The state of one request while libcurl runs it."""

    index: int
    target: Target
    obj: SampleObject
    url: str
    limit: int
    status: int | None = None
    headers: dict[str, list[str]] = field(default_factory=dict)
    digest: Any = field(default_factory=lambda: hashlib.md5(usedforsecurity=False))
    size: int = 0
    kept: bytearray = field(default_factory=bytearray)
    truncated: bool = False  # stopped at max_body_bytes
    cut: bool = False  # an error body, read as far as needed
    want_cert: bool = False  # the node's first request: record its certificate
    variant: str = MAIN  # the sampled GET, or a browser check (observations.MAIN, …)
    origin: str | None = None  # the web UI's Origin, sent as a browser does
    first: bytearray = field(default_factory=bytearray)  # a 2xx body's first bytes
    ok: bool = False  # the answer's status is 2xx: its body is hashed, not kept

    def __getstate__(self) -> dict[str, Any]:
        """A transfer not yet started crosses to a worker process (observe/worker.py) whole,
        but for its hash object, which cannot be pickled: a fresh one is made there."""
        return {k: v for k, v in self.__dict__.items() if k != "digest"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, digest=hashlib.md5(usedforsecurity=False))

    @property
    def protocol(self) -> str:
        """The protocol asked for: h2 by ALPN (falling back to HTTP/1.1) unless the variant
        pins one."""
        return {HTTP1: "http/1.1", HTTP3: "h3"}.get(self.variant, "h2")  # HTTP2 too

    @property
    def request_headers(self) -> tuple[str, ...]:
        extra = (f"Origin: {self.origin}",) if self.origin else ()
        return (*extra, f"Range: {RANGE_BYTES}") if self.variant == RANGE else extra

    # libcurl calls these two for every header line and every chunk of body (8 KiB DATA
    # frames from nginx over HTTP/2): they stay on bytes and do as little as they can, since
    # they are most of a transfer's Python time (docs/performance.md)
    def on_header(self, line: bytes) -> None:
        if line[:5] == b"HTTP/":  # a new response (after a 100 Continue, say)
            parts = line.split()
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            self.ok = self.status is not None and 200 <= self.status < 300
            self.headers = {}
            return
        name, sep, value = line.partition(b":")
        if sep:
            recorded = _RECORDED.get(name.strip().lower())
            if recorded is not None:
                raw = value.strip()
                text = _VALUES.get(raw)
                if text is None:
                    text = raw.decode("iso-8859-1")
                    if len(_VALUES) < VALUES_KEPT and len(raw) <= VALUE_SHARED:
                        _VALUES[raw] = text
                self.headers.setdefault(recorded, []).append(text)

    def on_body(self, chunk: bytes) -> int | None:
        """libcurl's write callback: None goes on; a short count stops the transfer."""
        if self.ok:
            self.size += len(chunk)
            if self.size > self.limit:
                self.truncated = True
                return 0
            self.digest.update(chunk)
            if len(self.first) < FIRST_BYTES:
                self.first += chunk[: FIRST_BYTES - len(self.first)]
            return None
        self.size += len(chunk)
        room = ERROR_BODY_READ - len(self.kept)
        self.kept += chunk[:room]
        if len(self.kept) >= ERROR_BODY_READ:
            self.cut = True
            return 0
        return None


def request(site: SiteSettings, probe: ProbeSettings, index: int, target: Target,
            obj: SampleObject, origin: str | None, variant: str = MAIN,
            want_cert: bool = False) -> Transfer:
    """A transfer not yet started: ``obj`` from ``target`` as ``variant`` (a sampled GET,
    or a browser check), ``index`` its place among the fetch's answers."""
    return Transfer(index, target, obj, base_url(site, target.port) + obj.path,
                    probe.max_body_bytes, want_cert=want_cert, variant=variant, origin=origin)


def configure(curl: pycurl.Curl, t: Transfer, site: SiteSettings, probe: ProbeSettings,
              cainfo: str | None) -> None:
    """Every option of one transfer (the handle is reset between transfers)."""
    curl.setopt(pycurl.URL, t.url)
    curl.setopt(pycurl.CONNECT_TO, [connect_to(site, t.target.port, t.target.addresses[0])])
    curl.setopt(pycurl.HTTP_VERSION, _http_version(t, site))
    if t.request_headers:
        curl.setopt(pycurl.HTTPHEADER, list(t.request_headers))
    curl.setopt(pycurl.NOSIGNAL, 1)
    curl.setopt(pycurl.FOLLOWLOCATION, 0)
    curl.setopt(pycurl.HTTP09_ALLOWED, 0)
    curl.setopt(pycurl.USERAGENT, f"edgeprobe/{__version__}")
    curl.setopt(pycurl.TIMEOUT_MS, int(probe.timeout_s * 1000))
    curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(probe.timeout_s * 1000))
    curl.setopt(pycurl.LOW_SPEED_LIMIT, LOW_SPEED_BYTES)
    curl.setopt(pycurl.LOW_SPEED_TIME, max(1, int(probe.timeout_s)))
    curl.setopt(pycurl.MAXFILESIZE_LARGE, probe.max_body_bytes)
    curl.setopt(pycurl.BUFFERSIZE, BUFFER)
    curl.setopt(pycurl.HEADERFUNCTION, t.on_header)
    curl.setopt(pycurl.WRITEFUNCTION, t.on_body)
    if site.scheme == "https":
        if cainfo:
            curl.setopt(pycurl.CAINFO, cainfo)
        verify = 1 if site.verify_tls else 0
        curl.setopt(pycurl.SSL_VERIFYPEER, verify)
        curl.setopt(pycurl.SSL_VERIFYHOST, 2 if verify else 0)
        if t.want_cert:
            curl.setopt(pycurl.OPT_CERTINFO, 1)
            # a full handshake: a TLS session resumed from a sibling connection (libcurl
            # shares its session cache across the multi's transfers) carries no
            # certificate, and the node's expiry would go unseen
            curl.setopt(pycurl.SSL_SESSIONID_CACHE, 0)


def _http_version(t: Transfer, site: SiteSettings) -> int:
    """What libcurl may speak: HTTP/2 over TLS by ALPN where it can (as browsers do), HTTP/3
    only for the h3 check, HTTP/1.1 when pinned or without TLS."""
    if site.scheme != "https" or t.protocol == "http/1.1" or (t.protocol == "h2"
                                                              and not HAS_HTTP2):
        return int(pycurl.CURL_HTTP_VERSION_1_1)
    return int(pycurl.CURL_HTTP_VERSION_3ONLY if t.protocol == "h3"
               else pycurl.CURL_HTTP_VERSION_2TLS)


def certificate(curl: pycurl.Curl) -> Certificate | None:
    """The leaf certificate from libcurl's CERTINFO, or None (no TLS, or no new handshake)."""
    try:
        chain = curl.getinfo(pycurl.INFO_CERTINFO)
    except pycurl.error:
        return None
    if not chain:
        return None
    leaf = dict(chain[0])
    pem = leaf.get("Cert", "")
    body = "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
    try:
        der = base64.b64decode(body, validate=False)
        expires = datetime.strptime(" ".join(leaf.get("Expire date", "").split()),
                                    "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
    except (ValueError, binascii.Error):
        return None
    return Certificate(subject=leaf.get("Subject", ""), issuer=leaf.get("Issuer", ""),
                       san=leaf.get("X509v3 Subject Alternative Name", ""),
                       not_after=expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       sha256=hashlib.sha256(der).hexdigest())


def _ms(seconds: float) -> float | None:
    return round(seconds * 1000, 2) if seconds > 0 else None


def result(curl: pycurl.Curl, t: Transfer, site: SiteSettings, code: int | None,
           message: str | None) -> FetchResult:
    """The FetchResult of a finished transfer (``code``: libcurl's error, None for none)."""
    address = curl.getinfo(pycurl.PRIMARY_IP) or t.target.addresses[0]
    connect = curl.getinfo(pycurl.CONNECT_TIME)
    first, total = curl.getinfo(pycurl.STARTTRANSFER_TIME), curl.getinfo(pycurl.TOTAL_TIME)
    timing = Timing(connect_ms=_ms(connect), tls_ms=_ms(curl.getinfo(pycurl.APPCONNECT_TIME)),
                    first_byte_ms=_ms(first), total_ms=_ms(total),
                    transfer_ms=round((total - first) * 1000, 2) if first > 0 else None)
    common: dict[str, Any] = {
        "node": t.target.node, "path": t.obj.path, "url": t.url, "address": address,
        "timing": timing, "certificate": certificate(curl) if t.want_cert else None,
        "curl": curl_command(site, t.target.port, address, t.url, t.limit,
                             t.protocol if HAS_HTTP2 or t.protocol != "h2" else "http/1.1",
                             t.request_headers),
        "variant": t.variant}
    headers = {name: (values[0] if len(values) == 1 else ", ".join(values))[
        : defaults.HEADER_VALUE_MAX] for name, values in t.headers.items()}
    if code in (pycurl.E_FILESIZE_EXCEEDED,) or (code == pycurl.E_WRITE_ERROR
                                                 and (t.truncated or t.cut)):
        code, message = None, None
        t.truncated = t.truncated or not t.cut
    if code is not None:
        # a reused connection has no connect time of its own (0): a request that was sent
        # (pre-transfer reached) was connected, whatever happened next
        sent = curl.getinfo(pycurl.PRETRANSFER_TIME) > 0
        err = map_curl_error(code, message or "", connected=connect > 0 or sent,
                             answered=t.status is not None)
        return FetchResult(**common, headers=headers, error_kind=err.kind, error=str(err))
    ok = t.ok
    return FetchResult(
        **common, status_code=t.status, size=t.size,
        protocol=PROTOCOLS.get(curl.getinfo(pycurl.INFO_HTTP_VERSION)),
        first_bytes=bytes(t.first),
        md5=t.digest.hexdigest() if ok and not t.truncated else None, truncated=t.truncated,
        headers=headers,
        body_excerpt=None if ok else bytes(t.kept[: defaults.BODY_EXCERPT_BYTES]).decode(
            "utf-8", "replace") or None)
