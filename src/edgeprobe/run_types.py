"""The run result as a frozen, typed value (its JSON is docs/run-result.md).

Each class mirrors one object of the JSON, its fields in the JSON's key order. A key that
a run may lack (older runs, optional blocks, per-check details) defaults to ``UNSET`` and is
left out of the JSON again, so reading and writing a run changes nothing; ``None`` is JSON's
null. ``to_json`` and ``from_json`` are the only conversions; run_result.py uses them.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

T = TypeVar("T")


class Unset:
    """The type of UNSET: a key the run does not have (falsy, like an empty value)."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()
Headers = dict[str, Union[str, None]]  # noqa: UP007 (a runtime alias: hints are resolved)


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
    evidence: dict[str, Any]
    state: str | Unset = UNSET  # with --state: new, ongoing
    first_seen: str | Unset = UNSET
    runs: int | Unset = UNSET


@dataclass(frozen=True)
class NodeResult:
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
    certificate: dict[str, Any] | Unset = UNSET
    error: str | Unset = UNSET
    cache: dict[str, Any] | Unset = UNSET
    canary: dict[str, Any] | Unset = UNSET


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
    confirmed: tuple[dict[str, Any], ...] | Unset = UNSET
    resolved: tuple[dict[str, Any], ...] | Unset = UNSET
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
    canary: dict[str, Any] | Unset = UNSET
    views: tuple[dict[str, Any], ...] | Unset = UNSET
    fleet_headers: Headers | Unset = UNSET
    incident: IncidentInfo | Unset = UNSET
    notifications: tuple[DeliveryInfo, ...] | Unset = UNSET
    warnings: tuple[str, ...] | Unset = UNSET
    vantage: str | Unset = UNSET  # where the run probed from (--vantage)
    vantages: tuple[dict[str, Any], ...] | Unset = UNSET  # a merged run (run@2) only


# The JSON's key order where it differs from the classes' (required fields come first in a
# dataclass; the JSON interleaves them).
_ORDER = {
    RunResult: ("schema", "ok", "health", "started_at", "duration_s", "vantage", "site", "scope",
                "edgeprobe", "origin", "counts", "canary", "views", "findings", "fleet_headers",
                "nodes", "regions", "objects", "vantages", "incident", "notifications",
                "warnings"),
    ObjectResult: ("path", "key", "source", "origin", "reference", "results"),
    NodeResult: ("name", "region", "host", "addresses", "status", "checks", "failures",
                 "latency_ms", "status_codes", "verdicts", "cache_hit_share", "headers",
                 "header_diffs", "phases_ms", "cache", "canary", "tls_verification", "certificate",
                 "error"),
}


_SCALARS = (str, int, float, bool, type(None))


def to_json(value: Any) -> Any:
    """A value of these classes as JSON-shaped data (UNSET fields left out)."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    out = {}
    for name in _json_names(type(value)):  # type: ignore[arg-type]
        v = getattr(value, name)
        if v is not UNSET:
            out[name] = to_json(v)
    return out


def from_json(cls: type[T], data: Any) -> T:
    """JSON-shaped data (valid against the schema) as a value of ``cls``."""
    kwargs = {name: convert(data[name])
              for name, convert in _converters(cls) if name in data}  # type: ignore[arg-type]
    return cls(**kwargs)


# Runs hold thousands of checks: the per-class work (resolving hints, choosing a converter
# per field) is done once per class, not once per value.

@functools.cache
def _json_names(cls: type) -> tuple[str, ...]:
    return _ORDER.get(cls) or tuple(f.name for f in fields(cls))


@functools.cache
def _converters(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _converter(hints[f.name])) for f in fields(cls))


def _same(value: Any) -> Any:
    return value


@functools.cache
def _converter(tp: Any) -> Callable[[Any], Any]:
    """How JSON data becomes a value of type ``tp``."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        concrete = [a for a in args if a not in (type(None), Unset)]
        if len(concrete) != 1:
            return _same
        inner = _converter(concrete[0])
        return _same if inner is _same else (lambda v: None if v is None else inner(v))
    if is_dataclass(tp) and isinstance(tp, type):
        return lambda v: from_json(tp, v)
    if origin is tuple:
        item = _converter(args[0])
        return tuple if item is _same else (lambda v: tuple(item(x) for x in v))
    if origin is dict:
        value = _converter(args[1])
        return _same if value is _same else (lambda v: {k: value(x) for k, x in v.items()})
    return _same
