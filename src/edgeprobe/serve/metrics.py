"""The latest run as Prometheus metrics (docs/metrics.md), for `edgeprobe serve`.

Named like blackbox_exporter's where the meaning is the same (``probe_success`` →
``edgeprobe_node_up``, ``probe_http_duration_seconds{phase}`` →
``edgeprobe_node_http_duration_seconds{phase}``, ``probe_ssl_earliest_cert_expiry`` →
``edgeprobe_node_ssl_earliest_cert_expiry``), prefixed ``edgeprobe_``, in base units, and
never with an object key as a label: labels are nodes, regions, views, finding kinds and
fixed words, so the series count follows the fleet, not the sample. A collector reads one
complete RunResult (and the server's own counters); a scrape never sees half a run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.registry import Collector

from edgeprobe._version import __version__
from edgeprobe.result.types import RunResult
from edgeprobe.vocabulary import (
    CANARY_OK,
    FAILING,
    HEALTH,
    STATUSES,
    UNREACHABLE,
    VERDICTS,
    VIEW_STATUSES,
)

PHASES = ("connect", "tls", "first_byte", "transfer", "total")
DOWN = (FAILING, UNREACHABLE)


@dataclass
class ServerState:
    """What the collector reads: the latest complete run, and the server's own history."""

    run: RunResult | None = None
    last_attempt: float | None = None  # unix time a run last ended, well or not
    last_success: float | None = None  # unix time a run last completed
    last_error: str | None = None  # why the last run could not run (None: it ran)
    runs: Counter[str] = field(default_factory=Counter)  # ok / failed
    started: float = field(default_factory=time.time)  # when the server started


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class RunCollector(Collector):
    """``server=False`` (a /probe answer): the run's metrics only, not the server's own."""

    def __init__(self, state: ServerState, server: bool = True) -> None:
        self.state, self.server = state, server

    def collect(self) -> Iterator[Metric]:
        s = self.state
        yield InfoMetricFamily("edgeprobe_build", "edgeprobe's version",
                               value={"version": __version__})
        if self.server:
            yield from self._server(s)
        if s.run is not None:
            yield from self._run(s.run)

    @staticmethod
    def _server(s: ServerState) -> Iterator[Metric]:
        runs = CounterMetricFamily("edgeprobe_runs", "Runs since start, by result (failed: "
                                   "the run could not run, e.g. no object to probe)",
                                   labels=["result"])
        for result in ("ok", "failed"):
            runs.add_metric([result], s.runs[result])
        yield runs
        yield GaugeMetricFamily("edgeprobe_start_time_seconds", "When the server started (so "
                                "an alert can tell a server that never completed a run)",
                                value=s.started)
        yield GaugeMetricFamily("edgeprobe_run_success", "1 when the last run could run "
                                "(whatever it found), 0 when it could not",
                                value=1 if s.last_attempt and s.last_error is None else 0)
        if s.last_success is not None:
            yield GaugeMetricFamily("edgeprobe_last_success_timestamp_seconds",
                                    "When the last complete run ended", value=s.last_success)

    @staticmethod
    def _run(run: RunResult) -> Iterator[Metric]:
        yield GaugeMetricFamily("edgeprobe_run_timestamp_seconds", "When the shown run started",
                                value=_ts(run.started_at))
        yield GaugeMetricFamily("edgeprobe_run_duration_seconds", "How long the shown run took",
                                value=run.duration_s)
        yield GaugeMetricFamily("edgeprobe_run_objects", "Objects sampled in the shown run",
                                value=len(run.objects))
        yield GaugeMetricFamily("edgeprobe_bucket_up", "1 when the bucket could be checked",
                                value=1 if run.origin and run.origin.available else 0)
        health = StateSetMetricFamily("edgeprobe_health", "The run's one word",
                                      value={h: run.health == h for h in HEALTH})
        yield health
        yield from _nodes(run)
        regions = StateSetMetricFamily("edgeprobe_region_status", "Each region's status",
                                       labels=["region"])
        for r in run.regions:
            regions.add_metric([r.name], {st: r.status == st for st in STATUSES})
        yield regions
        findings = GaugeMetricFamily("edgeprobe_findings", "Findings of the shown run by kind "
                                     "and severity", labels=["kind", "severity"])
        for (kind, severity), n in sorted(Counter((f.kind, f.severity)
                                                  for f in run.findings).items()):
            findings.add_metric([kind, severity], n)
        yield findings
        if run.views:
            views = StateSetMetricFamily("edgeprobe_view_status", "What each GeoDNS view's "
                                         "users get: the worst status of their edges",
                                         labels=["view"])
            for v in run.views:
                views.add_metric([v.name], {st: v.status == st for st in VIEW_STATUSES})
            yield views


def _nodes(run: RunResult) -> Iterator[Metric]:
    labels = ["node", "region"]
    up = GaugeMetricFamily("edgeprobe_node_up", "1 unless the node is failing or unreachable "
                           "(blackbox_exporter: probe_success)", labels=labels)
    status = StateSetMetricFamily("edgeprobe_node_status", "Each node's status",
                                  labels=labels)
    checks = GaugeMetricFamily("edgeprobe_node_checks", "Checks of the shown run by verdict",
                               labels=[*labels, "verdict"])
    phases = GaugeMetricFamily("edgeprobe_node_http_duration_seconds", "Median seconds from "
                               "the request's start to each phase (blackbox_exporter: "
                               "probe_http_duration_seconds)", labels=[*labels, "phase"])
    expiry = GaugeMetricFamily("edgeprobe_node_ssl_earliest_cert_expiry", "Unix time the "
                               "node's certificate expires (blackbox_exporter: "
                               "probe_ssl_earliest_cert_expiry)", labels=labels)
    hits = GaugeMetricFamily("edgeprobe_node_cache_hit_ratio", "Share of the node's 200s "
                             "that were cache hits", labels=labels)
    path = GaugeMetricFamily("edgeprobe_node_origin_path_up", "1 when the origin-path canary "
                             "says the node reaches the bucket", labels=labels)
    protocol = GaugeMetricFamily("edgeprobe_node_protocol_up", "1 when the node serves right "
                                 "over the protocol (h2, h3), 0 when it is broken there; "
                                 "absent when not offered or not tested",
                                 labels=[*labels, "protocol"])
    cors = GaugeMetricFamily("edgeprobe_node_cors_ok", "1 when the node's media answers carry "
                             "a usable Access-Control-Allow-Origin", labels=labels)
    ranges = GaugeMetricFamily("edgeprobe_node_range_ok", "1 when Range: bytes=0-1 gets 206 "
                               "and the right bytes (video, audio)", labels=labels)
    for n in run.nodes:
        key = [n.name, n.region]
        up.add_metric(key, 0 if n.status in DOWN else 1)
        status.add_metric(key, {st: n.status == st for st in STATUSES})
        verdicts = n.verdicts or {}
        for verdict in VERDICTS:
            if verdict in verdicts:
                checks.add_metric([*key, verdict], verdicts[verdict])
        for phase in PHASES:
            value = (n.phases_ms or {}).get(phase)
            if value is not None:
                phases.add_metric([*key, phase], value / 1000)
        if n.certificate:
            expiry.add_metric(key, _ts(n.certificate.not_after))
        if isinstance(n.cache_hit_share, int | float):
            hits.add_metric(key, n.cache_hit_share)
        if n.canary and n.canary.verdict is not None:
            path.add_metric(key, 1 if n.canary.verdict == CANARY_OK else 0)
        if n.browser:
            for name, word in n.browser.protocols.items():
                if word in ("ok", "broken"):
                    protocol.add_metric([*key, name], 1 if word == "ok" else 0)
            if n.browser.cors != "not judged":
                cors.add_metric(key, 1 if n.browser.cors == "ok" else 0)
            if n.browser.range != "not tested":
                ranges.add_metric(key, 1 if n.browser.range == "ok" else 0)
    yield from (up, status, checks, phases, expiry, hits, path, protocol, cors, ranges)

