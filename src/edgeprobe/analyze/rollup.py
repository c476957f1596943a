"""Findings above single nodes: the fleet, regions, the origin; and node/region status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import TypedDict

from edgeprobe.analyze import tuning
from edgeprobe.analyze.types import FAILURE_KINDS, AnalysisInput, Check, Finding, Reference
from edgeprobe.observe.repro import shown
from edgeprobe.vocabulary import (
    AT_RISK,
    BLAMING,
    CRITICAL,
    DEGRADED,
    FAILING,
    HEALTHY,
    INFO,
    NO_CONNECTION,
    RISK_KINDS,
    UNREACHABLE,
    WARNING,
)


class FleetExample(TypedDict):
    """One object every node failed: what each node answered, and a command for one."""

    path: str
    results: dict[str, int | str]
    curl: str | None


class FleetWideEvidence(TypedDict):
    """fleet_wide_failure's evidence (schema: ``$defs/fleet_evidence``)."""

    objects: int
    failed: int
    nodes: list[str]
    verdicts: dict[str, int]
    status_codes: dict[str, int]
    examples: list[FleetExample]

def fleet_finding(inp: AnalysisInput, refs: dict[str, Reference],
                  by_path: dict[str, list[Check]]) -> Finding | None:
    """Objects in the bucket that no node serves: shared config or origin access, not N nodes."""
    existing = [p for p, r in refs.items() if r.exists and r.source == "bucket"]
    failed = [p for p in existing
              if by_path.get(p) and all(c.verdict in FAILURE_KINDS for c in by_path[p])]
    if not failed:
        return None
    verdicts = Counter(c.verdict for p in failed for c in by_path[p])
    codes = Counter(str(c.fetch.status_code) for p in failed for c in by_path[p]
                    if c.fetch.status_code)
    nodes = sorted({c.fetch.node for p in failed for c in by_path[p]})
    how = "/".join(codes) if codes else "/".join(verdicts)
    severity = CRITICAL if len(failed) * 2 > len(existing) else WARNING
    evidence: FleetWideEvidence = {
        "objects": len(existing), "failed": len(failed), "nodes": nodes,
        "verdicts": dict(verdicts), "status_codes": dict(codes),
        "examples": [{"path": p, "results": {c.fetch.node: c.fetch.status_code or c.verdict
                                             for c in by_path[p]},
                      "curl": shown(by_path[p][0].fetch.curl)}
                     for p in failed[: tuning.EXAMPLES_IN_EVIDENCE]],
    }
    return Finding("fleet_wide_failure", "fleet", "fleet", severity,
                   f"every node ({len(nodes)}) fails for {len(failed)} of {len(existing)} objects "
                   f"that exist in the bucket ({how}): shared configuration or origin access",
                   evidence)


def origin_findings(inp: AnalysisInput, refs: dict[str, Reference],
                    by_path: dict[str, list[Check]]) -> list[Finding]:
    out = []
    if not inp.origin.available:
        out.append(Finding("origin_unavailable", "origin", inp.origin.bucket, WARNING,
                           f"the bucket {inp.origin.bucket!r} cannot be checked: "
                           f"{inp.origin.error}; nodes were judged against each other",
                           {"error_kind": inp.origin.error_kind, "error": inp.origin.error}))
    for obj in inp.objects:
        if refs[obj.path].exists is not False:
            continue
        checks = by_path.get(obj.path, [])
        answers = {c.fetch.node: c.fetch.status_code or c.verdict for c in checks}
        cached = sum(1 for c in checks if c.verdict == "cached")
        # an explicit path that is gone is worth a look; a sampled one was just deleted
        severity = WARNING if obj.source == "paths" else INFO
        if cached:
            of = "" if cached == len(checks) else f" of {len(checks)}"
            summary = (f"{obj.key} was deleted from the bucket; still served from cache by "
                       f"{cached}{of} edge{'s' if cached != 1 else ''} (until their cache "
                       "expires: proxy_cache_valid); not blamed")
        else:
            summary = (f"{obj.key} is not in the bucket; nodes that answer 404 for it are "
                       "right and are not blamed")
        out.append(Finding("origin_object_missing", "object", obj.path, severity, summary,
                           {"key": obj.key, "source": obj.source, "results": answers,
                            "cached_by": cached}))
    return out


def node_statuses(inp: AnalysisInput, findings: Sequence[Finding],
                  checks_by_node: dict[str, list[Check]]) -> dict[str, str]:
    """healthy / at_risk (only a RISK_KINDS finding: it serves right, for now) / degraded
    (a warning) / failing (a critical) / unreachable. Fleet-wide findings apply to every
    node."""
    fleet = {f.severity for f in findings if f.scope == "fleet"}
    out = {}
    dns_failed = {r.node for r in inp.resolutions if r.error_kind}
    for node in inp.nodes:
        mine = [f for f in findings if f.scope == "node" and f.target == node.name]
        sev = {f.severity for f in mine if f.kind not in RISK_KINDS} | fleet
        at_risk = any(f.kind in RISK_KINDS and f.severity in BLAMING for f in mine)
        checks = checks_by_node.get(node.name, [])
        if node.name in dns_failed or (checks and all(c.verdict == NO_CONNECTION
                                                        for c in checks)):
            out[node.name] = UNREACHABLE
        elif CRITICAL in sev:
            out[node.name] = FAILING
        elif WARNING in sev:
            out[node.name] = DEGRADED
        else:
            out[node.name] = AT_RISK if at_risk else HEALTHY
    return out


def region_status(statuses: Sequence[str]) -> str:
    if statuses and all(s == UNREACHABLE for s in statuses):
        return UNREACHABLE
    if statuses and all(s in (FAILING, UNREACHABLE) for s in statuses):
        return FAILING
    if any(s not in (HEALTHY, AT_RISK) for s in statuses):
        return DEGRADED
    return AT_RISK if AT_RISK in statuses else HEALTHY


def region_findings(inp: AnalysisInput, node_status: dict[str, str],
                    findings: Sequence[Finding]) -> tuple[dict[str, str], list[Finding]]:
    regions: dict[str, list[str]] = {}
    for node in inp.nodes:
        regions.setdefault(node.region, []).append(node.name)
    status = {r: region_status([node_status[n] for n in names]) for r, names in regions.items()}
    if inp.scope == "node" or any(f.kind == "fleet_wide_failure" and f.severity == CRITICAL
                                  for f in findings):
        return status, []
    out = []
    for region, names in regions.items():
        if status[region] not in (FAILING, UNREACHABLE):
            continue
        why = {n: sorted({f.kind for f in findings if f.scope == "node" and f.target == n
                          and f.severity == CRITICAL}) for n in names}
        parts = ", ".join(f"{n} ({', '.join(k) or node_status[n]})" for n, k in why.items())
        out.append(Finding("region_degraded", "region", region, CRITICAL,
                           f"every node of {region} is failing: {parts}; users routed to "
                           f"{region} get broken media", {"nodes": names, "why": why}))
    return status, out


def name_addresses(findings: Sequence[Finding], node_names: Sequence[str]) -> list[Finding]:
    """A node probed on several addresses is one node per address (NAME@ADDRESS, see
    observe/targets.per_address). A finding on one of them, while the node's other addresses are
    fine, says so: whose users it hurts is a matter of address family."""
    blamed = {f.target for f in findings if f.scope == "node" and f.severity in BLAMING}
    family_of: dict[str, list[str]] = {}
    for name in node_names:
        if "@" in name:
            family_of.setdefault(name.split("@", 1)[0], []).append(name)
    out = []
    for f in findings:
        base, _, addr = f.target.partition("@")
        others = [n for n in family_of.get(base, []) if n != f.target] if addr else []
        if f.scope == "node" and f.severity in BLAMING and others and \
                not any(o in blamed for o in others):
            family = "IPv6" if ":" in addr else "IPv4"
            f = replace(f, summary=f"{base} on its {family} address {addr} only ({family} "
                                   f"users affected): {f.summary}",
                        evidence={**f.evidence, "node": base, "address": addr,
                                  "fine_on": [o.partition("@")[2] for o in others]})
        out.append(f)
    return out
