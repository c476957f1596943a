"""What the stages observe, as small frozen dataclasses passed along the pipeline: a node's
addresses, the objects to fetch, what the bucket says, each fetch. A failed check is data
(a value carrying its error), never an exception."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from edgeprobe.observe.repro import Curl


@dataclass(frozen=True)
class Resolution:
    """A node's addresses, or why it has none."""

    node: str
    host: str | None
    addresses: tuple[str, ...] = ()
    pinned: bool = False
    error_kind: str | None = None  # nxdomain, no_address, servfail, timeout, error
    error: str | None = None
    nameservers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """A node to fetch from: its addresses and the port it listens on."""

    node: str
    addresses: tuple[str, ...]
    port: int


@dataclass(frozen=True)
class SampleObject:
    """One object to fetch from every node. ``listed``: what the bucket's listing said of
    it (size, ETag), when it was sampled from one: the bucket check then needs no HEAD."""

    path: str  # URL path on the media host
    key: str  # object key in the bucket
    source: str  # paths, bucket, api
    listed: OriginObject | None = None
    chosen: str | None = None  # how it was chosen, in words (config check, the run result)


@dataclass(frozen=True)
class Note:
    """Something the run should tell, that is not about an edge (becomes an info finding)."""

    kind: str
    target: str
    summary: str
    evidence: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    objects: tuple[SampleObject, ...]
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class OriginObject:
    """What the bucket says of one key. exists=None: the bucket could not tell."""

    key: str
    exists: bool | None
    size: int | None = None
    etag: str | None = None
    error: str | None = None
    content_type: str | None = None  # the stored ContentType (a HEAD's; listings lack it)


@dataclass(frozen=True)
class OriginFacts:
    """What the bucket said of itself and of each sampled key."""

    bucket: str
    available: bool
    error_kind: str | None = None
    error: str | None = None
    objects: dict[str, OriginObject] = field(default_factory=dict)


@dataclass(frozen=True)
class Timing:
    """Milliseconds from the request's start, as libcurl measures them: TCP connected, TLS
    done, first byte of the answer, all done. None for a phase that did not happen (a
    reused connection has no connect or TLS phase)."""

    connect_ms: float | None = None
    tls_ms: float | None = None
    first_byte_ms: float | None = None
    total_ms: float | None = None
    transfer_ms: float | None = None  # the body alone: total less first byte (a duration)


@dataclass(frozen=True)
class Certificate:
    """The leaf certificate a node presented (libcurl's CERTINFO), for the first request
    of each node: who it names, who signed it, when it expires, its SHA-256 fingerprint."""

    subject: str
    issuer: str
    san: str
    not_after: str  # ISO 8601, UTC
    sha256: str


# The requests a node gets for one object: the sampled GET (negotiating the protocol a
# browser would: h2 by ALPN over TLS), and the browser checks that follow it
# (observe/followup.py): the same GET again as a browser would (HTTP2: asked twice, a blip
# is not a protocol), over HTTP/1.1, over HTTP/3, and a two-byte Range.
MAIN, HTTP1, HTTP2, HTTP3, RANGE = "", "http/1.1", "h2", "h3", "range"
RANGE_BYTES = "bytes=0-1"


@dataclass(frozen=True)
class FetchResult:
    """One GET of one object from one node."""

    node: str
    path: str
    url: str
    address: str | None  # the address actually connected to (or tried first)
    status_code: int | None = None
    size: int | None = None  # bytes received
    md5: str | None = None
    truncated: bool = False  # stopped at max_body_bytes
    headers: dict[str, str] = field(default_factory=dict)
    body_excerpt: str | None = None  # first bytes of a non-2xx body, as text
    timing: Timing = field(default_factory=Timing)
    error_kind: str | None = None  # unreachable, tls_error, timeout, protocol_error, truncated
    error: str | None = None
    curl: Curl | None = None  # the command that shows this answer (rendered by reporters)
    certificate: Certificate | None = None
    protocol: str | None = None  # what was spoken: http/1.1, h2, h3 (None: no answer)
    variant: str = MAIN  # which request: the sampled GET, or a browser check (below)
    first_bytes: bytes = b""  # a 2xx body's first bytes (its file type, a Range's truth)


@dataclass(frozen=True)
class CanaryReference:
    """What the bucket itself answers an anonymous GET for a key that does not exist (what
    a healthy edge, which proxies without credentials, passes through): its status and S3
    error code, or why it could not be asked."""

    status_code: int | None = None
    code: str | None = None
    error: str | None = None



@dataclass(frozen=True)
class ViewAnswer:
    """What an authoritative server answered for the media host, asked with one view's
    subnet as the EDNS Client Subnet: addresses, TTL and the scope prefix (0: the same
    answer for everyone), or why there is no answer."""

    view: str
    subnet: str
    rdtype: str  # A or AAAA
    server: str | None  # the server that answered ("ip:port")
    addresses: tuple[str, ...] = ()
    ttl: int | None = None
    scope: int | None = None  # None: the answer carried no ECS option
    error_kind: str | None = None  # nxdomain, servfail, timeout, no_authoritative, cname_loop
    error: str | None = None
    cname: tuple[str, ...] = ()  # the CNAME chain followed from the media host, in order
    dropped: int = 0  # addresses past MAX_VIEW_ADDRESSES in this answer: not taken


@dataclass(frozen=True)
class Followup:
    """One browser check to make after the sampled GETs: an object, from one target, asked
    as ``variant`` (HTTP1, HTTP3, RANGE)."""

    target: Target
    obj: SampleObject
    variant: str
