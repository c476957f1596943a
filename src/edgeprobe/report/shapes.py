"""The shapes of what the reports show: the view model ``report/view.py`` builds once from a
run, and the HTML template, the Markdown and the terminal reporters format. Every value is
already a display string or number, so a reporter neither judges nor guards."""

from __future__ import annotations

from collections import Counter
from typing import TypedDict


class ExampleView(TypedDict):
    """One example answer (a failing check, or a canary answer)."""

    path: str
    answer: str
    address: str
    error: str
    location: str
    body_excerpt: str
    curl: str
    curl_body: str


class FindingView(TypedDict):
    severity: str
    kind: str
    target: str
    summary: str
    state: str | None
    line: str | None  # the evidence in one sentence
    examples: list[ExampleView]
    curl: str
    curl_body: str
    details: list[tuple[str, str]]


class NodeView(TypedDict):
    name: str
    region: str
    status: str
    addresses: str
    failures: int
    checks: int
    codes: str
    answers: str
    p50: float | None
    p95: float | None
    max: float | None
    cache_hits: str
    bucket_path: str  # the canary's verdict: ok, the cause of a broken path, or "-"
    browser: str  # "h2 ok · h3 not offered · CORS ok · Range ok", or "-"
    header_diffs: list[tuple[str, str | None]]
    tls_verification: str | None
    phases: str


class CellView(TypedDict):
    verdict: str
    label: str
    detail: str
    curl: str


class MatrixRow(TypedDict):
    node: str
    status: str
    cells: list[CellView]


class EdgeView(TypedDict):
    node: str
    address: str
    status: str


class WhoRow(TypedDict):
    """One GeoDNS view: the edges its users get, and the worst status among them."""

    view: str
    subnets: str
    edges: list[EdgeView]
    status: str
    error: str


class VantageCell(TypedDict):
    status: str
    ms: str


class VantageRow(TypedDict):
    node: str
    cells: list[VantageCell]


class VantageMatrix(TypedDict):
    """A merged run's node × vantage matrix."""

    vantages: list[str]
    degraded: list[bool]
    rows: list[VantageRow]
    disagree: bool


class MemberView(TypedDict):
    name: str
    status: str


class RegionView(TypedDict):
    name: str
    status: str
    members: list[MemberView]


class SiteView(TypedDict):
    name: str
    media_url: str


class ObjectView(TypedDict):
    path: str
    size: int | str
    missing: bool


class CountsView(TypedDict):
    nodes: int
    objects: int
    checks: int


class ReportView(TypedDict):
    """Everything a report shows, in one value (view.build)."""

    site: SiteView
    verdict: str
    headline: str
    incident: str | None
    affected: list[str]
    who: list[WhoRow]
    who_first: bool  # a view is affected: who gets which edge leads
    vantages: VantageMatrix | None
    tls_off: str | None
    started_at: str
    duration_s: float
    counts: CountsView
    findings: list[FindingView]
    severities: Counter[str]
    regions: list[RegionView]
    nodes: list[NodeView]
    fleet_headers: list[tuple[str, str | None]]
    objects: list[ObjectView]
    matrix: list[MatrixRow]
    facts: list[tuple[str, str]]
