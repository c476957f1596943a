"""Several vantages' runs of one probe file, judged together (docs/analysis.md, "Several
vantages"). Pure: the runs are loaded and checked by merge/runs.py.

- A vantage from which every node fails (and some other vantage sees a node fine) has a
  problem of its own — its network, its DNS — ``vantage_degraded``; its results blame no
  node.
- Among the other vantages, a node failing from every one of them is the node's fault: its
  findings stay, each with what every vantage said (``evidence.vantages``).
- A node failing from some vantages only is ``node_path_failure`` ("cdn-tokyo-1 failing
  from eu-1 only; 2 other vantages fine"): a route, a firewall, a peering link — not the
  node's configuration, so its per-vantage findings are not the node's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from edgeprobe.analyze.rollup import region_status
from edgeprobe.result.parts import VantageNode, VantageRow
from edgeprobe.result.types import RunFinding, RunResult
from edgeprobe.vocabulary import (
    BLAMING,
    DEGRADED,
    FAILING,
    HEALTHY,
    INFO,
    SEVERITY_RANK,
    UNREACHABLE,
    WARNING,
)

BAD = (FAILING, UNREACHABLE)


@dataclass(frozen=True)
class Merged:
    findings: tuple[RunFinding, ...]
    node_status: dict[str, str]
    region_status: dict[str, str]
    vantages: tuple[VantageRow, ...]
    degraded: tuple[str, ...]
    path_failures: dict[str, list[str]]  # node → the vantages it fails from


def _status(run: RunResult) -> dict[str, str]:
    return {n.name: n.status for n in run.nodes}


def degraded_vantages(runs: Sequence[RunResult]) -> list[str]:
    """Vantages that see every node fail while another vantage sees one fine."""
    statuses = {str(r.vantage): _status(r) for r in runs}
    fine_somewhere = any(s not in BAD for st in statuses.values() for s in st.values())
    return [v for v, st in statuses.items()
            if st and all(s in BAD for s in st.values()) and fine_somewhere
            and any(any(x not in BAD for x in other.values())
                    for w, other in statuses.items() if w != v)]


def judge_vantages(runs: Sequence[RunResult]) -> Merged:
    degraded = degraded_vantages(runs)
    judging = [r for r in runs if r.vantage not in degraded]
    names = list(dict.fromkeys(n.name for r in runs for n in r.nodes))
    by_vantage = {str(r.vantage): _status(r) for r in judging}
    failing_from = {n: [v for v, st in by_vantage.items() if st.get(n) in BAD] for n in names}
    path_failures = {n: vs for n, vs in failing_from.items() if vs and len(vs) < len(judging)}
    findings: list[RunFinding] = []
    seen: dict[tuple[str, str], int] = {}
    said_by: dict[tuple[str, str], int] = {}
    for run in judging:
        for f in run.findings:
            if f.scope == "node" and f.target in path_failures:
                continue  # the node is fine from elsewhere: not its configuration
            key = (f.kind, f.target)
            said_by[key] = said_by.get(key, 0) + 1
            if key in seen:
                findings[seen[key]] = _with_vantage(_graver(findings[seen[key]], f), run)
                continue
            seen[key] = len(findings)
            findings.append(_with_vantage(f, run))
    findings = [_fleet_needs_everyone(f, said_by[(f.kind, f.target)], len(judging))
                for f in findings]
    for node, vantages in path_failures.items():
        fine = len(judging) - len(vantages)
        how = "/".join(sorted({by_vantage[v][node] for v in vantages}))
        findings.append(RunFinding(
            "node_path_failure", "node", node, WARNING,
            f"{node} {how} from {', '.join(vantages)} only; {fine} other vantage"
            f"{'s' if fine != 1 else ''} fine: the network path, not the node's configuration",
            {"failing_from": vantages, "fine_from": [v for v in by_vantage
                                                     if v not in vantages]}))
    for v in degraded:
        run = next(r for r in runs if r.vantage == v)
        findings.append(RunFinding(
            "vantage_degraded", "vantage", v, WARNING,
            f"vantage {v} fails against every node ({len(run.nodes)}) while other vantages "
            "reach them: its own network or DNS; its results blame no node",
            {"nodes": len(run.nodes), "started_at": run.started_at}))
    node_status = {}
    for n in names:
        bad = failing_from[n]
        if n in path_failures:
            node_status[n] = DEGRADED
        elif bad:
            node_status[n] = by_vantage[bad[0]][n]
        else:
            worst = [st.get(n, HEALTHY) for st in by_vantage.values()]
            node_status[n] = DEGRADED if DEGRADED in worst else HEALTHY
    regions: dict[str, list[str]] = {}
    for r in judging or runs:
        for reg in r.regions:
            regions.setdefault(reg.name, list(reg.nodes))
    return Merged(tuple(findings), node_status,
                  {r: region_status([node_status.get(n, HEALTHY) for n in ns])
                   for r, ns in regions.items()},
                  tuple(_vantage_row(r, r.vantage in degraded) for r in runs), tuple(degraded),
                  path_failures)


def _fleet_needs_everyone(f: RunFinding, said: int, judging: int) -> RunFinding:
    """A fleet-wide judgement (every node fails) holds only when every judging vantage
    made it: from one vantage alone it says as much about that vantage's path, so it stays
    on record as info and blames nothing."""
    if f.scope != "fleet" or f.severity not in BLAMING or said == judging:
        return f
    from dataclasses import replace

    return replace(f, severity=INFO, summary=f"{f.summary} (seen from {said} of {judging} "
                   "vantages only: not a fleet-wide judgement)")


def _graver(prev: RunFinding, f: RunFinding) -> RunFinding:
    """Of one finding as two vantages saw it, the graver (a vantage's confirmed failure
    outweighs another's transient), keeping what each vantage said and any re-test's
    confirmation (docs/scheduling.md: a vantage's confirmed failure is confirmed)."""
    from dataclasses import replace

    base = f if SEVERITY_RANK[f.severity] < SEVERITY_RANK[prev.severity] else prev
    evidence = {**base.evidence, "vantages": prev.evidence.get("vantages", {})}
    tests = [r for r in (prev.evidence.get("retest"), f.evidence.get("retest"))
             if isinstance(r, Mapping)]
    if any(r.get("confirmed") is True for r in tests):
        evidence["retest"] = next(r for r in tests if r.get("confirmed") is True)
    return replace(base, evidence=evidence)


def _with_vantage(f: RunFinding, run: RunResult) -> RunFinding:
    from dataclasses import replace

    seen = dict(cast(Mapping[str, str], f.evidence.get("vantages", {})))  # schema-typed
    seen[str(run.vantage)] = f.summary
    return replace(f, evidence={**f.evidence, "vantages": seen})


def _vantage_row(run: RunResult, degraded: bool) -> VantageRow:
    return VantageRow(
        name=str(run.vantage), started_at=run.started_at, duration_s=run.duration_s,
        health=str(run.health), degraded=degraded,
        nodes={n.name: VantageNode(status=n.status, latency_p50_ms=n.latency_ms.p50,
                                   first_byte_ms=(n.phases_ms or {}).get("first_byte"))
               for n in run.nodes})
