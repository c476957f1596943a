"""What the HTML and Markdown reports show, derived once from the run result (no I/O)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from edgeprobe.report import Run, verdict

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
DIFF_HEADERS = ("Server", "Cache-Control", "Via", "X-Cache-Status", "Content-Type")
CELL_LABEL = {"unreachable": "DOWN", "tls_error": "TLS", "timeout": "SLOW",
              "protocol_error": "BAD", "dns_failure": "DNS"}


def evidence_line(f: dict[str, Any]) -> str | None:
    """The finding's evidence in one plain sentence (e.g. '12 of 12 objects: 404 here; …')."""
    ev = f.get("evidence") or {}
    if "checks" in ev and "failed" in ev:
        codes = "/".join(ev.get("status_codes") or {}) or "/".join(ev.get("verdicts") or {})
        peers = ev.get("peers_serving") or []
        truth = ("the other nodes agree on them" if "consensus" in (ev.get("reference") or [])
                 else "the bucket has them")
        line = f"{ev['failed']} of {ev['checks']} objects: {codes} here; {truth}"
        if peers:
            line += f"; {len(peers)} peer{'s' if len(peers) != 1 else ''} serve them"
        return line
    if f.get("kind") == "fleet_wide_failure":
        return (f"{ev.get('failed')} of {ev.get('objects')} objects fail on every node "
                f"({', '.join(ev.get('nodes') or [])})")
    if f.get("kind") == "node_dns_failure":
        servers = ", ".join(ev.get("nameservers") or [])
        return f"{ev.get('host')}: {ev.get('error_kind')} from {servers}"
    if f.get("kind") == "node_slow" and ev.get("latency_ms"):
        lat = ev["latency_ms"]
        return (f"p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms; "
                f"peers' p50 {ev.get('peers_p50_ms')} ms")
    return None


def _headline(run: Run) -> str:
    word = verdict(run)
    if word == "healthy":
        return "Every node serves what is in the bucket."
    bad = [f for f in run["findings"] if f["severity"] == ("critical" if word == "failing"
                                                          else "warning")]
    return bad[0]["summary"] if bad else word


def _affected(run: Run) -> list[str]:
    out = []
    status = {n["name"]: n["status"] for n in run["nodes"]}
    for region in run["regions"]:
        bad = [n for n in region["nodes"] if status.get(n) != "healthy"]
        if bad:
            out.append(f"users routed to {region['name']} ({', '.join(bad)}: "
                       f"{', '.join(status[n] for n in bad)})")
    return out


def _fleet_headers(run: Run) -> dict[str, str | None]:
    out = {}
    for h in DIFF_HEADERS:
        values = [n.get("headers", {}).get(h) for n in run["nodes"] if n.get("checks")]
        common = Counter(v for v in values).most_common(1)
        out[h] = common[0][0] if common else None
    return out


def _cell(node: str, obj: dict[str, Any]) -> dict[str, Any]:
    r = obj["results"].get(node)
    if r is None:
        return {"verdict": "none", "label": "–", "detail": f"{node}: not checked"}
    v = r.get("verdict", "unverified")
    label = str(r["status_code"]) if r.get("status_code") else CELL_LABEL.get(v, v[:4].upper())
    ref = obj.get("reference") or {}
    size_ok = r.get("size") == ref.get("size") if r.get("status_code") == 200 else None
    hash_ok = (r.get("md5") == ref.get("md5")) if ref.get("md5") and r.get("md5") else None
    detail = [f"{node} · {obj['path']}", f"verdict: {v}",
              f"status: {r.get('status_code') or '-'}", f"latency: {r.get('latency_ms')} ms",
              f"bytes: {r.get('size')} (bucket {ref.get('size')}"
              + (", match)" if size_ok else ", DIFFER)" if size_ok is False else ")")]
    if hash_ok is not None:
        detail.append("md5: " + ("matches" if hash_ok else f"{r.get('md5')} ≠ {ref.get('md5')}"))
    if r.get("cache"):
        detail.append(f"cache: {r['cache']}")
    if r.get("error"):
        detail.append(f"error: {r['error']}")
    if r.get("body_excerpt"):
        detail.append(f"body: {r['body_excerpt'][:160]}")
    return {"verdict": v, "label": label, "detail": "\n".join(detail), "curl": r.get("curl")}


def incident_line(run: Run) -> str | None:
    """'failing since 2026-11-26 14:05 UTC (3 runs)', from a run probed with --state."""
    inc = run.get("incident") or {}
    since = (inc.get("since") or "").replace("T", " ").replace("Z", " UTC")
    if inc.get("state") == "open" and since:
        runs = inc.get("runs", 0)
        change = f"; incident {inc['change']}" if inc.get("change") else ""
        return f"{verdict(run)} since {since} ({runs} run{'s' if runs != 1 else ''}){change}"
    if inc.get("state") == "resolved":
        return "incident resolved: nothing confirmed is failing any more"
    if inc.get("state") == "pending":
        return (f"not yet an incident: findings must be seen in {inc.get('confirm_runs')} "
                "runs in a row")
    return None


def build(run: Run) -> dict[str, Any]:
    run = {**run, "counts": run.get("counts") or {
        "nodes": len(run["nodes"]), "objects": len(run["objects"]),
        "checks": sum(n.get("checks", 0) for n in run["nodes"])}}
    findings = sorted(run["findings"], key=lambda f: SEVERITY_ORDER.get(f["severity"], 3))
    fleet = _fleet_headers(run)
    nodes = []
    for n in run["nodes"]:
        headers = n.get("headers") or {}
        diffs = {h: headers.get(h) for h in DIFF_HEADERS
                 if n.get("checks") and headers.get(h) != fleet.get(h)}
        nodes.append({**n, "codes": ", ".join(f"{c}×{k}" for c, k in
                                              sorted((n.get("status_codes") or {}).items())),
                      "header_diffs": diffs})
    objects = run["objects"]
    matrix = [{"node": n["name"], "status": n["status"],
               "cells": [_cell(n["name"], o) for o in objects]} for n in run["nodes"]]
    return {
        "run": run, "verdict": verdict(run), "headline": _headline(run),
        "incident": incident_line(run),
        "affected": _affected(run),
        "findings": [{**f, "line": evidence_line(f)} for f in findings],
        "counts": Counter(f["severity"] for f in findings),
        "regions": [{**r, "members": [next(n for n in run["nodes"] if n["name"] == name)
                                      for name in r["nodes"]]} for r in run["regions"]],
        "nodes": nodes, "fleet_headers": fleet, "objects": objects, "matrix": matrix,
    }
