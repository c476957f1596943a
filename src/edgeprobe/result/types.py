"""The run result as a frozen, typed value (its JSON is docs/run-result.md).

Each class mirrors one object of the JSON, its fields in the JSON's key order. A key that
a run may lack (older runs, optional blocks, per-check details) defaults to ``UNSET`` and is
left out of the JSON again, so reading and writing a run changes nothing; ``None`` is JSON's
null. ``codec.to_json`` and ``codec.from_json`` are the only conversions; a class
whose JSON interleaves required and optional keys names their order in ``JSON_ORDER``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from edgeprobe.result.codec import UNSET, Unset
from edgeprobe.result.parts import (
    BrowserView,
    CacheInfo,
    CanaryInfo,
    CertificateInfo,
    NodeCanaryInfo,
    TrackedFinding,
    VantageRow,
    ViewResult,
)

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


@dataclass(frozen=True)
class RunFinding:
    kind: str
    scope: str
    target: str
    severity: str
    summary: str
    evidence: Mapping[str, object]  # typed by kind: result/evidence.py
    state: str | Unset = UNSET  # with --state: new, ongoing
    first_seen: str | Unset = UNSET
    runs: int | Unset = UNSET


@dataclass(frozen=True)
class NodeResult:
    JSON_ORDER: ClassVar[tuple[str, ...]] = ("name", "region", "host", "addresses", "status",
        "checks", "failures", "latency_ms", "status_codes", "verdicts", "cache_hit_share",
        "headers", "header_diffs", "phases_ms", "cache", "canary", "browser",
        "tls_verification", "certificate", "error")
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
    browser: BrowserView | Unset = UNSET


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
    protocol: str | Unset | None = UNSET  # http/1.1, h2 (h3 only in the browser checks)


@dataclass(frozen=True)
class ObjectResult:
    JSON_ORDER: ClassVar[tuple[str, ...]] = ("path", "key", "source", "chosen", "origin",
        "reference", "results")
    path: str
    key: str
    origin: OriginObjectInfo
    results: dict[str, CheckResult]
    source: str | Unset = UNSET
    reference: ReferenceInfo | Unset = UNSET
    chosen: str | Unset = UNSET  # how the sampler chose it (edgeprobe 0.3)


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
    flapping: bool | Unset = UNSET  # a finding of it comes and goes (docs/scheduling.md)
    flapping_findings: tuple[str, ...] | Unset = UNSET  # their kind|target


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

    def __repr__(self) -> str:
        """A line, not the whole run: Python builds a repr where nobody reads it (asyncio.run,
        ending, formats its main task's with the result in it), and the dataclass's own repr
        of a 4,000-check run is ~5 MB: 0.1 s and ~7 MiB at the end of every run."""
        return (f"RunResult(schema={self.schema!r}, started_at={self.started_at!r}, "
                f"ok={self.ok!r}, nodes={len(self.nodes)}, objects={len(self.objects)}, "
                f"findings={len(self.findings)})")
