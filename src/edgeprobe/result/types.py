"""The run result as a frozen, typed value (its JSON is docs/run-result.md).

Each class mirrors one object of the JSON, its fields in the JSON's key order. A key that
a run may lack (older runs, optional blocks, per-check details) defaults to ``UNSET`` and is
left out of the JSON again, so reading and writing a run changes nothing; ``None`` is JSON's
null. ``codec.to_json`` and ``codec.from_json`` are the only conversions; a class
whose JSON interleaves required and optional keys names their order in ``JSON_ORDER``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from edgeprobe.result.codec import UNSET, Unset

__all__ = ["UNSET", "Unset"]


Headers = dict[str, str | None]


@dataclass(frozen=True)
class SiteInfo:
    name: str
    media_url: str
    verify_tls: bool | Unset = UNSET


@dataclass(frozen=True)
class ScopeInfo:
    kind: str
    name: str | None


@dataclass(frozen=True)
class ToolInfo:
    version: str
    host: str
    probe_file: str
    probe_file_sha256: str | Unset = UNSET


@dataclass(frozen=True)
class OriginInfo:
    bucket: str
    available: bool
    error: str | None


@dataclass(frozen=True)
class Counts:
    nodes: int
    objects: int
    checks: int


@dataclass(frozen=True)
class Latency:
    p50: float | None
    p95: float | None
    max: float | None


# -- the inner blocks: each mirrors what the pass that writes it writes -----------------------
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
                                             "scope", "error_kind", "error", "cname")
    subnet: str
    type: str  # A or AAAA
    addresses: tuple[str, ...]
    server: str | Unset | None = UNSET
    ttl: int | Unset | None = UNSET
    scope: int | Unset | None = UNSET  # the ECS scope prefix; 0: the same for everyone
    error_kind: str | Unset | None = UNSET
    error: str | Unset | None = UNSET
    cname: tuple[str, ...] | Unset = UNSET  # the CNAME chain followed, when there was one


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
    """A finding as the incident state remembers it (incident.py): confirmed, or resolved."""

    kind: str
    target: str
    severity: str | Unset = UNSET
    summary: str | Unset = UNSET
    first_seen: str | Unset = UNSET
    last_seen: str | Unset = UNSET
    runs: int | Unset = UNSET
    confirmed: bool | Unset = UNSET
    state: str | Unset = UNSET  # resolved


@dataclass(frozen=True)
class RunFinding:
    kind: str
    scope: str
    target: str
    severity: str
    summary: str
    evidence: dict[str, Any]
    state: str | Unset = UNSET  # with --state: new, ongoing
    first_seen: str | Unset = UNSET
    runs: int | Unset = UNSET


@dataclass(frozen=True)
class NodeResult:
    JSON_ORDER: ClassVar[tuple[str, ...]] = ("name", "region", "host", "addresses", "status",
        "checks", "failures", "latency_ms", "status_codes", "verdicts", "cache_hit_share",
        "headers", "header_diffs", "phases_ms", "cache", "canary", "tls_verification",
        "certificate", "error")
    name: str
    region: str
    addresses: tuple[str, ...]
    status: str
    checks: int
    failures: int
    latency_ms: Latency
    host: str | Unset | None = UNSET
    status_codes: dict[str, int] | Unset = UNSET
    verdicts: dict[str, int] | Unset = UNSET
    cache_hit_share: float | Unset | None = UNSET
    headers: Headers | Unset = UNSET
    header_diffs: Headers | Unset = UNSET
    phases_ms: dict[str, float | None] | Unset = UNSET
    tls_verification: str | Unset | None = UNSET  # only with verify_tls = false
    certificate: CertificateInfo | Unset = UNSET
    error: str | Unset = UNSET
    cache: CacheInfo | Unset = UNSET
    canary: NodeCanaryInfo | Unset = UNSET


@dataclass(frozen=True)
class RegionResult:
    name: str
    status: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class OriginObjectInfo:
    exists: bool | None
    size: int | None
    etag: str | None
    error: str | Unset = UNSET


@dataclass(frozen=True)
class ReferenceInfo:
    source: str | Unset = UNSET
    size: int | Unset | None = UNSET
    md5: str | Unset | None = UNSET


@dataclass(frozen=True)
class CheckTiming:
    connect_ms: float | Unset | None = UNSET
    first_byte_ms: float | Unset | None = UNSET
    tls_ms: float | Unset | None = UNSET
    transfer_ms: float | Unset | None = UNSET


@dataclass(frozen=True)
class CheckResult:
    status_code: int | None
    verdict: str
    latency_ms: float | None
    size: int | Unset | None = UNSET
    md5: str | Unset | None = UNSET
    size_matches: bool | Unset | None = UNSET
    md5_matches: bool | Unset | None = UNSET
    address: str | Unset | None = UNSET
    timing: CheckTiming | Unset = UNSET
    headers: dict[str, str] | Unset = UNSET
    etag: str | Unset = UNSET
    cache: str | Unset = UNSET
    error: str | Unset = UNSET
    body_excerpt: str | Unset = UNSET
    curl: str | Unset | None = UNSET


@dataclass(frozen=True)
class ObjectResult:
    JSON_ORDER: ClassVar[tuple[str, ...]] = ("path", "key", "source", "origin", "reference",
        "results")
    path: str
    key: str
    origin: OriginObjectInfo
    results: dict[str, CheckResult]
    source: str | Unset = UNSET
    reference: ReferenceInfo | Unset = UNSET


@dataclass(frozen=True)
class IncidentInfo:
    state: str | Unset = UNSET
    change: str | Unset | None = UNSET
    since: str | Unset | None = UNSET
    runs: int | Unset = UNSET
    confirm_runs: int | Unset = UNSET
    confirmed: tuple[TrackedFinding, ...] | Unset = UNSET
    resolved: tuple[TrackedFinding, ...] | Unset = UNSET
    issue: int | Unset | None = UNSET
    state_warning: str | Unset = UNSET


@dataclass(frozen=True)
class DeliveryInfo:
    channel: str
    action: str
    ok: bool
    error: str | None


@dataclass(frozen=True)
class RunResult:
    JSON_ORDER: ClassVar[tuple[str, ...]] = ("schema", "ok", "health", "started_at", "duration_s",
        "vantage", "site", "scope", "edgeprobe", "origin", "counts", "canary", "views",
        "findings", "fleet_headers", "nodes", "regions", "objects", "vantages", "incident",
        "notifications", "warnings")
    schema: str
    ok: bool
    started_at: str
    duration_s: float
    site: SiteInfo
    findings: tuple[RunFinding, ...]
    nodes: tuple[NodeResult, ...]
    regions: tuple[RegionResult, ...]
    objects: tuple[ObjectResult, ...]
    health: str | Unset = UNSET
    scope: ScopeInfo | Unset = UNSET
    edgeprobe: ToolInfo | Unset = UNSET
    origin: OriginInfo | Unset = UNSET
    counts: Counts | Unset = UNSET
    canary: CanaryInfo | Unset = UNSET
    views: tuple[ViewResult, ...] | Unset = UNSET
    fleet_headers: Headers | Unset = UNSET
    incident: IncidentInfo | Unset = UNSET
    notifications: tuple[DeliveryInfo, ...] | Unset = UNSET
    warnings: tuple[str, ...] | Unset = UNSET
    vantage: str | Unset = UNSET  # where the run probed from (--vantage)
    vantages: tuple[VantageRow, ...] | Unset = UNSET  # a merged run (run@2) only
