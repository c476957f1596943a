"""What the HTML, Markdown and terminal reports show, formatted once from the run result.

The run is a typed RunResult, complete (run_result.build/load/parse fill in what an older
run lacks); a key that a run may still lack is UNSET and shown as a placeholder, so the
templates never meet a missing field. Nothing here judges: it reads and formats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TypeVar, cast

from edgeprobe.report.shapes import (
    CellView,
    CountsView,
    ExampleView,
    FindingView,
    MatrixRow,
    NodeView,
    ReportView,
)
from edgeprobe.report.who import affected_from_views, routed_by_dns, vantage_matrix, who_gets
from edgeprobe.result.evidence import (
    CanaryAnswer,
    DnsEvidence,
    Example,
    Expected,
    FailureEvidence,
    FleetWideEvidence,
    PathEvidence,
    SlowEvidence,
)
from edgeprobe.result.types import UNSET, NodeResult, ObjectResult, RunFinding, RunResult, Unset
from edgeprobe.vocabulary import (
    CONNECTION_VERDICTS,
    CRITICAL,
    FAILING,
    FAILURE_KINDS,
    HEALTHY,
    INFO,
    OK,
    SEVERITY_RANK,
    UNKNOWN,
    WARNING,
)

CELL_LABEL = {"unreachable": "DOWN", "tls_error": "TLS", "timeout": "SLOW",
              "protocol_error": "BAD", "dns_failure": "DNS"}
FAILURE_FINDINGS = frozenset(FAILURE_KINDS.values())
T = TypeVar("T")
TLS_OFF = ("TLS verification is OFF ([site] verify_tls = false): certificates were not "
           "checked; see each node's tls_verification")


def _text(value: object) -> str:
    return "" if value is None or value is UNSET else str(value)


def _ms(value: float | Unset | None) -> str:
    return "-" if value is None or isinstance(value, Unset) else f"{value:.0f}"


def _val(value: T | Unset) -> T | None:
    """A field's value for display: an UNSET one reads as null."""
    return None if isinstance(value, Unset) else value


def evidence_line(kind: str, evidence: Mapping[str, object]) -> str | None:
    """The finding's evidence in one plain sentence (e.g. '12 of 12 objects: 404 here; …').

    The schema types each kind's evidence (``$defs/failure_evidence``, …) and a run is
    validated when loaded, so a key read here has its type; a key may still be absent (a run
    written by an older edgeprobe), hence ``get``."""
    if kind in FAILURE_FINDINGS and "checks" in evidence and "failed" in evidence:
        ev = cast(FailureEvidence, evidence)
        codes = "/".join(ev.get("status_codes", {})) or "/".join(ev.get("verdicts", {}))
        peers = ev.get("peers_serving", [])
        truth = ("the other nodes agree on them" if "consensus" in ev.get("reference", [])
                 else "the bucket has them")
        line = f"{ev['failed']} of {ev['checks']} objects: {codes} here; {truth}"
        if peers:
            line += f"; {len(peers)} peer{'s' if len(peers) != 1 else ''} serve them"
        return line
    if kind in ("node_origin_path_broken", "fleet_origin_path_broken"):
        path = cast(PathEvidence, evidence)
        broken = [a for a in path.get("answers", []) if a.get("verdict") not in (None, OK)]
        expected = path.get("expected", Expected(status_code=None, code=None))
        if broken:
            a = broken[0]
            said = " ".join(_text(x) for x in (a.get("status_code") or a.get("error"),
                                                a.get("code")) if x)
            want = " ".join(_text(x) for x in (expected.get("status_code"),
                                                expected.get("code")) if x)
            return (f"cause {_text(path.get('cause'))}: a missing key ({_text(a.get('path'))}) "
                    f"gets {said}" + (f"; the bucket answers {want}" if want else ""))
    if kind == "fleet_wide_failure":
        fleet = cast(FleetWideEvidence, evidence)
        return (f"{fleet.get('failed')} of {fleet.get('objects')} objects fail on every node "
                f"({', '.join(fleet.get('nodes', []))})")
    if kind == "node_dns_failure":
        dns = cast(DnsEvidence, evidence)
        return (f"{dns.get('host')}: {dns.get('error_kind')} from "
                f"{', '.join(dns.get('nameservers', []))}")
    if kind == "node_slow" and "latency_ms" in evidence:
        slow = cast(SlowEvidence, evidence)
        lat = slow["latency_ms"]
        return (f"p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms; "
                f"peers' p50 {slow.get('peers_p50_ms')} ms")
    return None


def _example(ex: Example | CanaryAnswer) -> ExampleView:
    answer = ex.get("status_code") or ex.get("verdict") or "?"
    return {"path": _text(ex.get("path")), "answer": _text(answer),
            "address": _text(ex.get("address")), "error": _text(ex.get("error")),
            "location": _text(ex.get("location")), "body_excerpt": _text(ex.get("body_excerpt")),
            "curl": _text(ex.get("curl")), "curl_body": _text(ex.get("curl_body"))}


def _finding(f: RunFinding) -> FindingView:
    ev = f.evidence
    examples = [_example(e) for e in cast(FailureEvidence, ev).get("examples", [])]
    # the canary's evidence is its broken answers (a GET whose curl shows the body)
    if f.kind in ("node_origin_path_broken", "fleet_origin_path_broken"):
        examples += [_example(a) for a in cast(PathEvidence, ev).get("answers", [])
                     if a.get("verdict") not in (None, OK)]
    blaming = f.severity != INFO
    return {"severity": f.severity, "kind": f.kind, "target": f.target,
            "summary": f.summary, "state": _val(f.state) or None,
            "line": evidence_line(f.kind, ev),
            "examples": examples,
            "curl": examples[0]["curl"] if examples and blaming else "",
            "curl_body": examples[0]["curl_body"] if examples and blaming else "",
            "details": [(k, _text(v)) for k, v in ev.items() if k not in ("examples", "answers")]}


def _headline(run: RunResult, findings: list[FindingView]) -> str:
    word = str(run.health)
    if word == HEALTHY:
        return "Every node serves what is in the bucket."
    want = CRITICAL if word == FAILING else WARNING
    bad = [f for f in findings if f["severity"] == want]
    return bad[0]["summary"] if bad else word


def _affected(run: RunResult, status: dict[str, str]) -> list[str]:
    out = []
    for region in run.regions:
        bad = [n for n in region.nodes if status.get(n, UNKNOWN) != HEALTHY]
        if bad:
            out.append(f"users routed to {region.name} ({', '.join(bad)}: "
                       f"{', '.join(status.get(n, 'unknown') for n in bad)})")
    return out


def _node(n: NodeResult) -> NodeView:
    codes = {str(k): v for k, v in (n.status_codes or {}).items()}
    errors = {v: c for v, c in (n.verdicts or {}).items() if v in CONNECTION_VERDICTS}
    answers = [f"{c}×{k}" for c, k in sorted(codes.items(), key=lambda kv: -kv[1])]
    answers += [f"{v}×{k}" for v, k in errors.items()]
    share = _val(n.cache_hit_share)
    lat = n.latency_ms
    return {
        "name": n.name, "region": n.region, "status": n.status,
        "addresses": ", ".join(n.addresses) or _text(n.error) or "-",
        "failures": n.failures, "checks": n.checks,
        "codes": ", ".join(f"{c}×{k}" for c, k in sorted(codes.items())),
        "answers": "no address" if n.error else (" ".join(answers) or "-"),
        "p50": lat.p50, "p95": lat.p95, "max": lat.max,
        "cache_hits": "-" if share is None else f"{share * 100:.0f}%",
        # the origin-path canary's verdict: ok, the cause of a broken path, or "-"
        "bucket_path": (n.canary.verdict if n.canary else None) or "-",
        "browser": " · ".join([*(f"{p} {w}" for p, w in n.browser.protocols.items()),
                               f"CORS {n.browser.cors}", f"Range {n.browser.range}"])
        if n.browser else "-",
        "header_diffs": list((n.header_diffs or {}).items()),
        "tls_verification": _val(n.tls_verification),
        "phases": " / ".join(_ms((n.phases_ms or {}).get(p)) for p in ("connect", "tls",
                                                                   "first_byte")),
    }


def _cell(node: str, obj: ObjectResult) -> CellView:
    r = obj.results.get(node)
    if r is None:
        return {"verdict": "none", "label": "–", "detail": f"{node}: not checked", "curl": ""}
    v = r.verdict
    label = str(r.status_code) if r.status_code else CELL_LABEL.get(v, v[:4].upper())
    ref_size = _val(obj.reference.size) if obj.reference else None
    ref_md5 = _val(obj.reference.md5) if obj.reference else None
    size_ok, hash_ok = _val(r.size_matches), _val(r.md5_matches)
    detail = [f"{node} · {obj.path}", f"verdict: {v}",
              f"status: {r.status_code or '-'}", f"latency: {r.latency_ms} ms",
              f"bytes: {_val(r.size)} (bucket {ref_size}"
              + (", match)" if size_ok else ", DIFFER)" if size_ok is False else ")")]
    if hash_ok is not None:
        detail.append("md5: " + ("matches" if hash_ok else f"{_val(r.md5)} ≠ {ref_md5}"))
    if r.timing:
        t = r.timing
        detail.append(f"timing: connect {_ms(t.connect_ms)}, TLS {_ms(t.tls_ms)}, first byte "
                      f"{_ms(t.first_byte_ms)}, transfer {_ms(t.transfer_ms)} ms")
    for key, value in (("cache", r.cache), ("error", r.error)):
        if value:
            detail.append(f"{key}: {value}")
    if r.body_excerpt:
        detail.append(f"body: {r.body_excerpt[:160]}")
    return {"verdict": v, "label": label, "detail": "\n".join(detail), "curl": r.curl or ""}


def incident_line(run: RunResult) -> str | None:
    """'failing since 2026-11-26 14:05 UTC (3 runs)', from a run probed with --state."""
    inc = run.incident
    if not inc:
        return None
    since = _text(inc.since).replace("T", " ").replace("Z", " UTC")
    if inc.state == "open" and since:
        runs = inc.runs or 0
        change = f"; incident {inc.change}" if inc.change else ""
        flapping = "; flapping: it comes and goes, held open" if inc.flapping is True else ""
        return (f"{run.health!s} since {since} ({runs} run{'s' if runs != 1 else ''})"
                f"{change}{flapping}")
    if inc.state == "open":  # held open through healthy runs (resolve_after, flapping)
        return "incident open: healthy now, resolved after enough healthy runs in a row" + (
            " (flapping)" if inc.flapping is True else "")
    if inc.state == "resolved":
        return "incident resolved: nothing confirmed is failing any more"
    if inc.state == "pending":
        return (f"not yet an incident: findings must be seen in {inc.confirm_runs or '?'} "
                "runs in a row")
    return None


def _facts(run: RunResult, counts: CountsView) -> list[tuple[str, str]]:
    scope, tool, origin = run.scope, run.edgeprobe, run.origin
    bucket = (origin.bucket if origin else "") or "?"
    if origin and not origin.available:
        bucket += f" (unavailable: {_text(origin.error)})"
    where = f"{scope.kind} {_text(scope.name)}".strip() if scope else "all"
    return [("started", run.started_at), ("duration", f"{run.duration_s} s"),
            ("scope", where), ("from host", (tool.host if tool else "") or "?"),
            *([("vantage", str(run.vantage))] if run.vantage else []),
            *([("vantages", ", ".join(v.name for v in run.vantages))]
              if run.vantages else []),
            ("edgeprobe", (tool.version if tool else "") or "?"),
            ("probe file", (tool.probe_file if tool else "") or "?"), ("bucket", bucket),
            ("checks", f"{counts['nodes']} nodes × {counts['objects']} objects = "
                       f"{counts['checks']}")]


def build(run: RunResult) -> ReportView:
    """What every reporter shows, read from a complete run (see the module docstring)."""
    c = run.counts
    counts = CountsView(nodes=c.nodes, objects=c.objects, checks=c.checks) if c else \
        CountsView(nodes=len(run.nodes), objects=len(run.objects),
                   checks=sum(n.checks for n in run.nodes))
    raw = sorted(run.findings, key=lambda f: SEVERITY_RANK[f.severity])
    findings = [_finding(f) for f in raw]
    status = {n.name: n.status for n in run.nodes}
    who = who_gets(run)
    affected = affected_from_views(who) if routed_by_dns(run) else _affected(run, status)
    matrix = [MatrixRow(node=n.name, status=n.status,
                        cells=[_cell(n.name, o) for o in run.objects]) for n in run.nodes]
    return {
        "site": {"name": run.site.name, "media_url": run.site.media_url},
        "verdict": str(run.health), "headline": _headline(run, findings),
        "incident": incident_line(run), "affected": affected,
        # who gets which edge (GeoDNS views); at the top of the reports when one is affected
        "who": who, "who_first": any(row["status"] != HEALTHY for row in who),
        # a merged run: node x vantage, at the top when the vantages disagree
        "vantages": vantage_matrix(run),
        "tls_off": TLS_OFF if run.site.verify_tls is False else None,
        "started_at": run.started_at, "duration_s": run.duration_s, "counts": counts,
        "findings": findings, "severities": Counter(f["severity"] for f in findings),
        "regions": [{"name": r.name, "status": r.status,
                     "members": [{"name": m, "status": status.get(m, UNKNOWN)}
                                 for m in r.nodes]} for r in run.regions],
        "nodes": [_node(n) for n in run.nodes],
        "fleet_headers": list((run.fleet_headers or {}).items()),
        "objects": [{"path": o.path, "size": "?" if o.origin.size is None else o.origin.size,
                     "missing": o.origin.exists is False} for o in run.objects],
        "matrix": matrix, "facts": _facts(run, counts),
    }
