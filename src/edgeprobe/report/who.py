"""The "who gets which edge" table and the Affected line from GeoDNS views (docs/analysis.md):
read from the run's typed ``views``; reporters only format these rows."""

from __future__ import annotations

from edgeprobe.report.shapes import EdgeView, VantageCell, VantageMatrix, VantageRow, WhoRow
from edgeprobe.result.types import RunResult, Unset
from edgeprobe.vocabulary import HEALTHY, UNKNOWN


def who_gets(run: RunResult) -> list[WhoRow]:
    """One row per view: its subnets, the edges its users get (node, address, status), and
    the worst status among them."""
    rows: list[WhoRow] = []
    for v in run.views or ():
        edges = [EdgeView(node=n.node or n.address, address=n.address, status=n.status)
                 for n in v.nodes]
        errors = sorted({a.error_kind for a in v.answers if a.error_kind})
        rows.append({"view": v.name, "subnets": ", ".join(v.subnets), "edges": edges,
                     "status": v.status, "error": ", ".join(errors)})
    return rows


def routed_by_dns(run: RunResult) -> bool:
    """Views exist and the servers answered by client subnet (no dns_ecs_ignored)."""
    return bool(run.views) and not any(f.kind == "dns_ecs_ignored" for f in run.findings)


def affected_from_views(rows: list[WhoRow]) -> list[str]:
    """'users in us-west (198.51.100.0/24) get cdn-fremont-1 (failing), …' per view whose
    users get a node that is not healthy (or no answer)."""
    out = []
    for row in rows:
        if row["status"] == HEALTHY:
            continue
        got = ", ".join(f"{e['node']} ({e['status']})" for e in row["edges"])
        out.append(f"users in {row['view']} ({row['subnets']}) get " +
                   (got or f"no answer ({row['error'] or 'DNS'})"))
    return out


def vantage_matrix(run: RunResult) -> VantageMatrix | None:
    """A merged run's node × vantage matrix: each node's status and median latency from
    each vantage; ``disagree`` when the vantages do not all see the same statuses (the
    matrix then leads the reports). None for a run from one vantage."""
    vantages = run.vantages or ()
    if not vantages:
        return None
    nodes = list(dict.fromkeys(n for v in vantages for n in v.nodes))
    rows: list[VantageRow] = []
    for node in nodes:
        cells: list[VantageCell] = []
        for v in vantages:
            cell = v.nodes.get(node)
            p50 = cell.latency_p50_ms if cell and not isinstance(cell.latency_p50_ms, Unset) \
                else None
            cells.append({"status": cell.status if cell else UNKNOWN,
                          "ms": "-" if p50 is None else f"{p50:.0f}"})
        rows.append({"node": node, "cells": cells})
    disagree = any(len({c["status"] for c in r["cells"]}) > 1 for r in rows)
    return {"vantages": [v.name for v in vantages], "degraded": [v.degraded for v in vantages],
            "rows": rows, "disagree": disagree}
