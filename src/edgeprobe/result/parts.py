"""The run result's inner blocks (docs/run-result.md), each mirroring what the pass that
writes it writes: a node's certificate, cache and canary answers; the run's canary, GeoDNS
views and vantages; the findings an incident remembers. types.py assembles them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from edgeprobe.result.codec import UNSET, Unset


@dataclass(frozen=True)
class CertificateInfo:
    """The leaf certificate a node presented (analyze/certs.py ``describe``)."""

    JSON_ORDER: ClassVar[tuple[str, ...]] = ("subject", "issuer", "san", "not_after", "sha256",
                                             "days_left")
    subject: str
    issuer: str
    not_after: str
    sha256: str
    san: str | Unset = UNSET
    days_left: float | Unset = UNSET


@dataclass(frozen=True)
class CacheInfo:
    """What a node's 200s said of its cache (analyze/cache.py ``cache_summary``)."""

    hits: int | Unset = UNSET
    misses: int | Unset = UNSET
    unknown: int | Unset = UNSET
    hit_share: float | Unset | None = UNSET
    max_age_s: int | Unset | None = UNSET
    no_hit_runs: int | Unset = UNSET


@dataclass(frozen=True)
class CanaryAnswer:
    """One answer of a node for a key that cannot exist (analyze/origin_path.py ``judge``)."""

    JSON_ORDER: ClassVar[tuple[str, ...]] = ("path", "address", "status_code", "code",
                                             "verdict", "body_excerpt", "error", "curl")
    path: str
    status_code: int | None
    verdict: str | None
    address: str | Unset | None = UNSET
    code: str | Unset | None = UNSET
    body_excerpt: str | Unset | None = UNSET
    error: str | Unset | None = UNSET
    curl: str | Unset | None = UNSET


@dataclass(frozen=True)
class NodeCanaryInfo:
    verdict: str | None  # ok, a cause (vocabulary.CANARY_CAUSES), or None: nothing to judge
    answers: tuple[CanaryAnswer, ...]


@dataclass(frozen=True)
class BrowserView:
    """A node as a browser meets it: each protocol (ok, broken, not offered, not tested),
    CORS (ok, missing, not judged), Range (ok, broken, not tested)."""

    protocols: dict[str, str]
    cors: str
    range: str


@dataclass(frozen=True)
class CanaryReferenceInfo:
    """What the bucket itself answers for a key that cannot exist."""

    status_code: int | Unset | None = UNSET
    code: str | Unset | None = UNSET
    error: str | Unset | None = UNSET


@dataclass(frozen=True)
class CanaryInfo:
    JSON_ORDER: ClassVar[tuple[str, ...]] = ("prefix", "requests", "cache_valid_h", "reference")
    prefix: str
    requests: int
    reference: CanaryReferenceInfo
    cache_valid_h: float | Unset = UNSET


@dataclass(frozen=True)
class ViewNode:
    address: str
    node: str | None  # None: an address no node has and that was not probed
    status: str  # vocabulary.VIEW_STATUSES


@dataclass(frozen=True)
class ViewDnsAnswer:
    JSON_ORDER: ClassVar[tuple[str, ...]] = ("subnet", "type", "server", "addresses", "ttl",
                                             "scope", "error_kind", "error", "cname",
                                             "dropped")
    subnet: str
    type: str  # A or AAAA
    addresses: tuple[str, ...]
    server: str | Unset | None = UNSET
    ttl: int | Unset | None = UNSET
    scope: int | Unset | None = UNSET  # the ECS scope prefix; 0: the same for everyone
    error_kind: str | Unset | None = UNSET
    error: str | Unset | None = UNSET
    cname: tuple[str, ...] | Unset = UNSET  # the CNAME chain followed, when there was one
    dropped: int | Unset = UNSET  # addresses past the cap of one answer, not taken


@dataclass(frozen=True)
class ViewResult:
    """Who gets which edge, for one [[views]] entry (analyze/views.py)."""

    name: str
    subnets: tuple[str, ...]
    addresses: tuple[str, ...]
    nodes: tuple[ViewNode, ...]
    status: str  # the worst among its nodes (vocabulary.VIEW_STATUSES)
    answers: tuple[ViewDnsAnswer, ...]


@dataclass(frozen=True)
class VantageNode:
    status: str
    latency_p50_ms: float | Unset | None = UNSET
    first_byte_ms: float | Unset | None = UNSET


@dataclass(frozen=True)
class VantageRow:
    """One vantage's run in a merged run (merge/vantages.py)."""

    JSON_ORDER: ClassVar[tuple[str, ...]] = ("name", "started_at", "duration_s", "health",
                                             "degraded", "nodes")
    name: str
    started_at: str
    health: str
    degraded: bool  # vantage_degraded: its results blame no node
    nodes: dict[str, VantageNode]
    duration_s: float | Unset = UNSET


@dataclass(frozen=True)
class TrackedFinding:
    """A finding as the incident state remembers it (incident/state.py): confirmed, or resolved."""

    kind: str
    target: str
    severity: str | Unset = UNSET
    summary: str | Unset = UNSET
    first_seen: str | Unset = UNSET
    last_seen: str | Unset = UNSET
    runs: int | Unset = UNSET
    confirmed: bool | Unset = UNSET
    state: str | Unset = UNSET  # resolved
