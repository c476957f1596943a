"""`edgeprobe merge`: several vantages' runs of one probe file → one run result (run@2)
with a vantage dimension, judged by analyze/vantages.py.

Refused with a MergeError (exit 2, nothing written) — naming the file and why: no input, a
file that is not a valid run (run_result.load), a run that is already merged (mixed schema
versions), a run without a vantage, two runs with the same vantage, runs of different
probe files (their SHA-256 differ), a partial run (node/region), or runs too far apart in
time (``max_spread_s``, default 10 minutes).
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from edgeprobe._version import __version__
from edgeprobe.config import defaults
from edgeprobe.errors import MergeError
from edgeprobe.merge.vantages import judge_vantages
from edgeprobe.result.files import MERGED_SCHEMA, SCHEMA, load_run
from edgeprobe.result.types import UNSET, RegionResult, RunResult, ToolInfo
from edgeprobe.vocabulary import finding_order, health, ok


def _when(run: RunResult) -> datetime:
    return datetime.fromisoformat(run.started_at.replace("Z", "+00:00"))


def load_runs(paths: Sequence[str],
              max_spread_s: float = defaults.MERGE_MAX_SPREAD_S) -> list[RunResult]:
    """The runs, each checked on its own and against the first."""
    if not paths:
        raise MergeError("no run files given: merge RUN.json RUN.json …")
    runs = [load_run(p) for p in paths]
    vantage_of: dict[str, str] = {}
    first, first_path = runs[0], paths[0]
    for path, run in zip(paths, runs, strict=True):
        if run.schema != SCHEMA:
            raise MergeError(f"{path}: schema {run.schema!r} is a merged run; merge the "
                             f"vantages' own runs ({SCHEMA})")
        if not run.vantage:
            raise MergeError(f"{path}: the run has no vantage (probed before edgeprobe 0.2?); "
                             "probe with --vantage NAME")
        if run.vantage in vantage_of:
            raise MergeError(f"{path}: vantage {run.vantage!r} is also {vantage_of[run.vantage]}"
                             "'s: each vantage once")
        vantage_of[str(run.vantage)] = path
        if (run.site.name, run.site.media_url) != (first.site.name, first.site.media_url):
            raise MergeError(f"{path}: a run of site {run.site.name!r} ({run.site.media_url}), "
                             f"not {first.site.name!r} ({first.site.media_url}) as {first_path}")
        if not run.nodes:
            raise MergeError(f"{path}: the run lists no node: a vantage that probed nothing "
                             "cannot be merged")
        if run.scope and run.scope.kind != "all":
            raise MergeError(f"{path}: a partial run ({run.scope.kind} {run.scope.name}); "
                             "merge whole-fleet runs")
        if _probe_file(run) != _probe_file(first):
            raise MergeError(f"{path}: a run of another probe file than {first_path}'s "
                             f"({_probe_file(run)[:60]} ≠ {_probe_file(first)[:60]})")
    times = sorted((_when(r), p) for r, p in zip(runs, paths, strict=True))
    spread = (times[-1][0] - times[0][0]).total_seconds()
    if spread > max_spread_s:
        raise MergeError(f"{times[-1][1]} started {spread:.0f} s after {times[0][1]}: more "
                         f"than {max_spread_s:g} s apart (--max-spread)")
    return runs


def _probe_file(run: RunResult) -> str:
    """What identifies the probe file: its SHA-256, else the site and the node names."""
    tool = run.edgeprobe
    if tool and tool.probe_file_sha256:
        return str(tool.probe_file_sha256)
    return f"{run.site.media_url} {sorted(n.name for n in run.nodes)}"


def merged_run(runs: Sequence[RunResult]) -> RunResult:
    """One run@2: the first judging vantage's nodes and objects, the merged findings,
    statuses and regions, and every vantage's row."""
    merged = judge_vantages(runs)
    base = next((r for r in runs if r.vantage not in merged.degraded), runs[0])
    findings = sorted(merged.findings,
                      key=lambda f: finding_order(f.severity, f.scope, f.target, f.kind))
    nodes = tuple(replace(n, status=merged.node_status.get(n.name, n.status))
                  for n in base.nodes)
    regions = tuple(RegionResult(r.name, merged.region_status.get(r.name, r.status), r.nodes)
                    for r in base.regions)
    tool = base.edgeprobe
    return replace(
        base, schema=MERGED_SCHEMA, ok=ok(f.severity for f in findings),
        health=health(f.severity for f in findings),
        started_at=min(runs, key=_when).started_at,
        duration_s=max(r.duration_s for r in runs), findings=tuple(findings), nodes=nodes,
        regions=regions, vantages=merged.vantages, vantage=UNSET,
        edgeprobe=ToolInfo(__version__, platform.node(), tool.probe_file if tool else "?",
                           tool.probe_file_sha256 if tool else UNSET),
        incident=UNSET, notifications=UNSET, warnings=UNSET)
