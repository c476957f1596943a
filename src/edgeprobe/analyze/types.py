"""What analysis consumes and produces. Pure data: no I/O anywhere in this package."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from edgeprobe.analyze.cache import CacheSummary
from edgeprobe.config import defaults
from edgeprobe.config.settings import NodeSettings
from edgeprobe.observe.observations import (
    CanaryReference,
    FetchResult,
    Note,
    OriginFacts,
    Resolution,
    SampleObject,
    ViewAnswer,
)
from edgeprobe.vocabulary import FAILURE_KINDS, FINDING_KINDS, HEALTHY, SEVERITY_RANK, VERDICTS

__all__ = ["FAILURE_KINDS", "SEVERITY_RANK", "VERDICTS"]


@dataclass(frozen=True)
class AnalysisInput:
    media_host: str
    nodes: tuple[NodeSettings, ...]  # the nodes in scope, probe-file order
    resolutions: tuple[Resolution, ...]
    objects: tuple[SampleObject, ...]
    origin: OriginFacts
    fetches: tuple[FetchResult, ...]
    slow_ms: float
    timeout_s: float
    max_body_bytes: int
    scope: str = "all"  # all, node, region
    notes: tuple[Note, ...] = ()
    # verify_tls = false only: node → what certificate verification would have said
    tls_unverified: dict[str, str | None] | None = None
    now: datetime | None = None  # when the run started: certificates' days left
    cert_warn_days: int = defaults.CERT_WARN_DAYS
    canaries: tuple[FetchResult, ...] = ()  # the canary keys' answers (observe/canary.py)
    canary_reference: CanaryReference | None = None  # the bucket's answer for such a key
    cache_valid_h: float = defaults.CACHE_VALID_H
    # node → runs in a row before this one without a cache hit while peers hit (state file)
    no_hit_runs: dict[str, int] = field(default_factory=dict)
    views: tuple[ViewAnswer, ...] = ()  # the GeoDNS answers per view (observe/geodns.py)
    unlisted: tuple[str, ...] = ()  # addresses DNS hands out that no node has: ad-hoc nodes
    # such addresses not probed, with why: internal, not_probed ([dns] probe_unlisted), capped
    skipped: tuple[tuple[str, str], ...] = ()
    # the browser checks (observe/followup.py) and what they stand on
    browser: tuple[FetchResult, ...] = ()
    protocols_tested: tuple[str, ...] = ()  # what this libcurl speaks: h2, h3
    web_origin: str | None = None  # the Origin the fetches carried
    cross_origin: bool = defaults.CROSS_ORIGIN
    bucket_types: dict[str, str | None] = field(default_factory=dict)  # key → ContentType
    url_prefix: str = defaults.URL_PREFIX


@dataclass(frozen=True)
class Reference:
    """The truth for one object: from the bucket, or the nodes' consensus when it can't say."""

    exists: bool | None
    size: int | None = None
    md5: str | None = None
    source: str = "none"  # bucket, consensus, none


@dataclass(frozen=True)
class Check:
    fetch: FetchResult
    verdict: str
    blameable: bool  # counts against the node (object exists and a peer served it, …)


@dataclass(frozen=True)
class Finding:
    kind: str
    scope: str  # node, region, fleet, origin, object, samples
    target: str
    severity: str
    summary: str
    # a TypedDict declared beside the pass that writes it (nodes.FailureEvidence, …)
    evidence: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # one spelling: a kind, scope or severity not in vocabulary.py is a bug, found here
        known = FINDING_KINDS.get(self.kind)
        if known is None or known.scope != self.scope or self.severity not in SEVERITY_RANK:
            raise ValueError(f"finding {self.kind!r} ({self.scope}, {self.severity}) is not "
                             "declared so in vocabulary.FINDING_KINDS")

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "scope": self.scope, "target": self.target,
                "severity": self.severity, "summary": self.summary, "evidence": self.evidence}


@dataclass(frozen=True)
class NodeSummary:
    checks: int
    failures: int
    latency_ms: dict[str, float | None]
    status_codes: dict[str, int]
    verdicts: dict[str, int]
    cache_hit_share: float | None
    headers: dict[str, str | None]
    header_diffs: dict[str, str | None] = field(default_factory=dict)
    phases_ms: dict[str, float | None] = field(default_factory=dict)
    cache: CacheSummary = field(default_factory=lambda: CacheSummary(
        hits=0, misses=0, unknown=0, hit_share=None, max_age_s=None))


class BrowserInfo(TypedDict):
    """A node as a browser meets it (analyze/browser.py): each protocol's word (ok, broken,
    not offered, not tested), CORS (ok, missing, not judged), Range (ok, broken, not
    tested)."""

    protocols: dict[str, str]
    cors: str
    range: str


class CanaryAnswer(TypedDict):
    """One canary request's answer as judged (origin_path.judge)."""

    path: str
    address: str | None
    status_code: int | None
    code: str | None  # the S3 error code in the body
    verdict: str | None
    body_excerpt: str | None
    error: str | None
    curl: str | None  # a GET that shows the body


class CertificateInfo(TypedDict):
    """A node's certificate as the run shows it (certs.describe)."""

    subject: str
    issuer: str
    san: str
    not_after: str
    sha256: str
    days_left: NotRequired[float]


class ViewNode(TypedDict):
    address: str
    node: str | None
    status: str


class ViewDnsAnswer(TypedDict):
    subnet: str
    type: str
    server: str | None
    addresses: list[str]
    ttl: int | None
    scope: int | None
    error_kind: str | None
    error: str | None
    cname: NotRequired[list[str]]
    dropped: NotRequired[int]


class ViewRow(TypedDict):
    """Who gets which edge: one view, its subnets, the addresses GeoDNS gives it and their
    nodes' states, and every answer (views.summarise_views)."""

    name: str
    subnets: list[str]
    addresses: list[str]
    nodes: list[ViewNode]
    status: str
    answers: list[ViewDnsAnswer]


@dataclass(frozen=True)
class NodeCanary:
    """One node's canary: its verdict (``ok``, a cause, or None: nothing to judge by) and
    each answer."""

    verdict: str | None
    answers: tuple[CanaryAnswer, ...]


@dataclass(frozen=True)
class Analysis:
    findings: tuple[Finding, ...]
    node_status: dict[str, str]
    region_status: dict[str, str]
    references: dict[str, Reference]  # by path
    checks: dict[tuple[str, str], Check]  # (node, path) → check
    health: str = HEALTHY  # the run's one word (vocabulary.health)
    nodes: dict[str, NodeSummary] = field(default_factory=dict)
    fleet_headers: dict[str, str | None] = field(default_factory=dict)
    certificates: dict[str, CertificateInfo] = field(default_factory=dict)  # node → described
    canaries: dict[str, NodeCanary] = field(default_factory=dict)  # the origin-path canary
    views: list[ViewRow] = field(default_factory=list)  # who gets which edge
    browser: dict[str, BrowserInfo] = field(default_factory=dict)  # node → as a browser sees
