"""What the HTML, Markdown and terminal reports show, derived once from the run result.

The run may be any run that validates against the published schema (``edgeprobe report``
re-renders saved files), so every field the templates read is filled in here, with a
placeholder where the run lacks it: a reporter never meets a missing key.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from edgeprobe.report import Run, verdict
from edgeprobe.vocabulary import CONNECTION_VERDICTS, SEVERITY_RANK

CELL_LABEL = {"unreachable": "DOWN", "tls_error": "TLS", "timeout": "SLOW",
              "protocol_error": "BAD", "dns_failure": "DNS"}
TLS_OFF = ("TLS verification is OFF ([site] verify_tls = false): certificates were not "
           "checked; see each node's tls_verification")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _num(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def evidence_line(f: dict[str, Any]) -> str | None:
    """The finding's evidence in one plain sentence (e.g. '12 of 12 objects: 404 here; …')."""
    ev = _dict(f.get("evidence"))
    if _num(ev.get("checks")) is not None and _num(ev.get("failed")) is not None:
        codes = "/".join(_dict(ev.get("status_codes"))) or "/".join(_dict(ev.get("verdicts")))
        peers = _list(ev.get("peers_serving"))
        truth = ("the other nodes agree on them" if "consensus" in _list(ev.get("reference"))
                 else "the bucket has them")
        line = f"{ev['failed']} of {ev['checks']} objects: {codes} here; {truth}"
        if peers:
            line += f"; {len(peers)} peer{'s' if len(peers) != 1 else ''} serve them"
        return line
    if f.get("kind") == "fleet_wide_failure":
        nodes = ", ".join(_text(n) for n in _list(ev.get("nodes")))
        return f"{ev.get('failed')} of {ev.get('objects')} objects fail on every node ({nodes})"
    if f.get("kind") == "node_dns_failure":
        servers = ", ".join(_text(n) for n in _list(ev.get("nameservers")))
        return f"{ev.get('host')}: {ev.get('error_kind')} from {servers}"
    if f.get("kind") == "node_slow" and isinstance(ev.get("latency_ms"), dict):
        lat = ev["latency_ms"]
        return (f"p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms; "
                f"peers' p50 {ev.get('peers_p50_ms')} ms")
    return None


def _example(ex: dict[str, Any]) -> dict[str, Any]:
    answer = ex.get("status_code") or ex.get("verdict") or "?"
    return {"path": _text(ex.get("path")), "answer": _text(answer),
            "address": _text(ex.get("address")), "error": _text(ex.get("error")),
            "location": _text(ex.get("location")), "body_excerpt": _text(ex.get("body_excerpt")),
            "curl": _text(ex.get("curl")), "curl_body": _text(ex.get("curl_body"))}


def _finding(f: dict[str, Any]) -> dict[str, Any]:
    ev = _dict(f.get("evidence"))
    examples = [_example(e) for e in _list(ev.get("examples")) if isinstance(e, dict)]
    blaming = f.get("severity") != "info"
    return {"severity": f["severity"], "kind": f["kind"], "target": f["target"],
            "summary": f["summary"], "state": f.get("state"), "line": evidence_line(f),
            "examples": examples,
            "curl": examples[0]["curl"] if examples and blaming else "",
            "curl_body": examples[0]["curl_body"] if examples and blaming else "",
            "details": [(k, _text(v)) for k, v in ev.items() if k != "examples"]}


def _headline(run: Run, findings: list[dict[str, Any]]) -> str:
    word = verdict(run)
    if word == "healthy":
        return "Every node serves what is in the bucket."
    want = "critical" if word == "failing" else "warning"
    bad = [f for f in findings if f["severity"] == want]
    return bad[0]["summary"] if bad else word


def _affected(run: Run, status: dict[str, str]) -> list[str]:
    out = []
    for region in run["regions"]:
        bad = [n for n in region["nodes"] if status.get(n, "unknown") != "healthy"]
        if bad:
            out.append(f"users routed to {region['name']} ({', '.join(bad)}: "
                       f"{', '.join(status.get(n, 'unknown') for n in bad)})")
    return out


def _node(n: dict[str, Any]) -> dict[str, Any]:
    codes = {str(k): v for k, v in _dict(n.get("status_codes")).items()}
    errors = {v: c for v, c in _dict(n.get("verdicts")).items() if v in CONNECTION_VERDICTS}
    answers = [f"{c}×{k}" for c, k in sorted(codes.items(), key=lambda kv: -kv[1])]
    answers += [f"{v}×{k}" for v, k in errors.items()]
    share = _num(n.get("cache_hit_share"))
    lat = n["latency_ms"]
    return {
        "name": n["name"], "region": n["region"], "status": n["status"],
        "addresses": ", ".join(n["addresses"]) or _text(n.get("error")) or "-",
        "failures": n["failures"], "checks": n["checks"],
        "codes": ", ".join(f"{c}×{k}" for c, k in sorted(codes.items())),
        "answers": "no address" if n.get("error") else (" ".join(answers) or "-"),
        "p50": lat["p50"], "p95": lat["p95"], "max": lat["max"],
        "cache_hits": "-" if share is None else f"{share * 100:.0f}%",
        "header_diffs": list(_dict(n.get("header_diffs")).items()),
        "tls_verification": n.get("tls_verification"),
    }


def _cell(node: str, obj: dict[str, Any]) -> dict[str, Any]:
    r = obj["results"].get(node)
    if r is None:
        return {"verdict": "none", "label": "–", "detail": f"{node}: not checked", "curl": ""}
    v = r["verdict"]
    label = str(r["status_code"]) if r.get("status_code") else CELL_LABEL.get(v, v[:4].upper())
    ref = _dict(obj.get("reference"))
    size_ok, hash_ok = r.get("size_matches"), r.get("md5_matches")
    detail = [f"{node} · {obj['path']}", f"verdict: {v}",
              f"status: {r.get('status_code') or '-'}", f"latency: {r.get('latency_ms')} ms",
              f"bytes: {r.get('size')} (bucket {ref.get('size')}"
              + (", match)" if size_ok else ", DIFFER)" if size_ok is False else ")")]
    if hash_ok is not None:
        detail.append("md5: " + ("matches" if hash_ok else f"{r.get('md5')} ≠ {ref.get('md5')}"))
    for key in ("cache", "error"):
        if r.get(key):
            detail.append(f"{key}: {r[key]}")
    if r.get("body_excerpt"):
        detail.append(f"body: {r['body_excerpt'][:160]}")
    return {"verdict": v, "label": label, "detail": "\n".join(detail), "curl": r.get("curl") or ""}


def incident_line(run: Run) -> str | None:
    """'failing since 2026-11-26 14:05 UTC (3 runs)', from a run probed with --state."""
    inc = _dict(run.get("incident"))
    since = _text(inc.get("since")).replace("T", " ").replace("Z", " UTC")
    if inc.get("state") == "open" and since:
        runs = inc.get("runs", 0)
        change = f"; incident {inc['change']}" if inc.get("change") else ""
        return f"{verdict(run)} since {since} ({runs} run{'s' if runs != 1 else ''}){change}"
    if inc.get("state") == "resolved":
        return "incident resolved: nothing confirmed is failing any more"
    if inc.get("state") == "pending":
        return (f"not yet an incident: findings must be seen in {inc.get('confirm_runs', '?')} "
                "runs in a row")
    return None


def _facts(run: Run, counts: dict[str, int]) -> list[tuple[str, str]]:
    scope = _dict(run.get("scope"))
    tool = _dict(run.get("edgeprobe"))
    origin = _dict(run.get("origin"))
    bucket = _text(origin.get("bucket")) or "?"
    if origin and not origin.get("available"):
        bucket += f" (unavailable: {_text(origin.get('error'))})"
    return [("started", run["started_at"]), ("duration", f"{run['duration_s']} s"),
            ("scope", f"{scope.get('kind', 'all')} {_text(scope.get('name'))}".strip()),
            ("from host", _text(tool.get("host")) or "?"),
            ("edgeprobe", _text(tool.get("version")) or "?"),
            ("probe file", _text(tool.get("probe_file")) or "?"), ("bucket", bucket),
            ("checks", f"{counts['nodes']} nodes × {counts['objects']} objects = "
                       f"{counts['checks']}")]


def build(run: Run) -> dict[str, Any]:
    """What every reporter shows. The run is first completed by ``run_result.upgrade`` (a
    run saved by an older edgeprobe, or written by hand, may lack derived fields): nothing
    below judges or compares, it only reads and formats."""
    from edgeprobe.run_result import upgrade

    run = upgrade(copy.deepcopy(run))
    counts = _dict(run.get("counts")) or {
        "nodes": len(run["nodes"]), "objects": len(run["objects"]),
        "checks": sum(n["checks"] for n in run["nodes"])}
    raw = sorted(run["findings"], key=lambda f: SEVERITY_RANK[f["severity"]])
    findings = [_finding(f) for f in raw]
    status = {n["name"]: n["status"] for n in run["nodes"]}
    nodes = [_node(n) for n in run["nodes"]]
    objects = run["objects"]
    matrix = [{"node": n["name"], "status": n["status"],
               "cells": [_cell(n["name"], o) for o in objects]} for n in run["nodes"]]
    site = run["site"]
    return {
        "site": {"name": site["name"], "media_url": site["media_url"]},
        "verdict": verdict(run), "headline": _headline(run, findings),
        "incident": incident_line(run), "affected": _affected(run, status),
        "tls_off": TLS_OFF if site.get("verify_tls") is False else None,
        "started_at": run["started_at"], "duration_s": run["duration_s"], "counts": counts,
        "findings": findings, "severities": Counter(f["severity"] for f in findings),
        "regions": [{"name": r["name"], "status": r["status"],
                     "members": [{"name": m, "status": status.get(m, "unknown")}
                                 for m in r["nodes"]]} for r in run["regions"]],
        "nodes": nodes, "fleet_headers": list(_dict(run.get("fleet_headers")).items()),
        "objects": [{"path": o["path"],
                     "size": "?" if o["origin"].get("size") is None else o["origin"]["size"],
                     "missing": o["origin"].get("exists") is False} for o in objects],
        "matrix": matrix, "facts": _facts(run, counts),
    }
