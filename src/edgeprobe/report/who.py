"""The "who gets which edge" table and the Affected line from GeoDNS views (docs/analysis.md):
read from the run's ``views``; reporters only format these rows."""

from __future__ import annotations

from typing import Any

from edgeprobe.run_types import RunResult


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def who_gets(run: RunResult) -> list[dict[str, Any]]:
    """One row per view: its subnets, the edges its users get (node, address, status), and
    the worst status among them."""
    rows = []
    for v in run.views or ():
        edges = [{"node": _text(n.get("node")) or _text(n.get("address")),
                  "address": _text(n.get("address")), "status": _text(n.get("status"))}
                 for n in v.get("nodes", []) if isinstance(n, dict)]
        errors = sorted({_text(a.get("error_kind")) for a in v.get("answers", [])
                         if isinstance(a, dict) and a.get("error_kind")})
        rows.append({"view": _text(v.get("name")),
                     "subnets": ", ".join(_text(s) for s in v.get("subnets", [])),
                     "edges": edges, "status": _text(v.get("status")) or "unknown",
                     "error": ", ".join(errors)})
    return rows


def routed_by_dns(run: RunResult) -> bool:
    """Views exist and the servers answered by client subnet (no dns_ecs_ignored)."""
    return bool(run.views) and not any(f.kind == "dns_ecs_ignored" for f in run.findings)


def affected_from_views(rows: list[dict[str, Any]]) -> list[str]:
    """'users in us-west (198.51.100.0/24) get cdn-fremont-1 (failing), …' per view whose
    users get a node that is not healthy (or no answer)."""
    out = []
    for row in rows:
        if row["status"] == "healthy":
            continue
        got = ", ".join(f"{e['node']} ({e['status']})" for e in row["edges"])
        out.append(f"users in {row['view']} ({row['subnets']}) get " +
                   (got or f"no answer ({row['error'] or 'DNS'})"))
    return out


def vantage_matrix(run: RunResult) -> dict[str, Any] | None:
    """A merged run's node × vantage matrix: each node's status and median latency from
    each vantage; ``disagree`` when the vantages do not all see the same statuses (the
    matrix then leads the reports). None for a run from one vantage."""
    rows_in = [v for v in (run.vantages or ()) if isinstance(v, dict)]
    if not rows_in:
        return None
    names = [_text(v.get("name")) for v in rows_in]
    nodes = list(dict.fromkeys(n for v in rows_in for n in (v.get("nodes") or {})))
    rows = []
    for node in nodes:
        cells = []
        for v in rows_in:
            cell = (v.get("nodes") or {}).get(node) or {}
            p50 = cell.get("latency_p50_ms")
            cells.append({"status": _text(cell.get("status")) or "unknown",
                          "ms": "-" if p50 is None else f"{p50:.0f}"})
        rows.append({"node": node, "cells": cells})
    disagree = any(len({c["status"] for c in r["cells"]}) > 1 for r in rows)
    return {"vantages": names, "degraded": [bool(v.get("degraded")) for v in rows_in],
            "rows": rows, "disagree": disagree}
