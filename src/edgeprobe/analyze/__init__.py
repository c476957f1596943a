"""Stage 5: verdicts and findings. Pure functions of the earlier stages' data — no I/O.

The bucket is the truth where it answers; where it cannot, the nodes' plurality is. A node is
blamed only for objects that exist and that a peer served correctly (or, when only part of
the fleet was probed, that the bucket holds), so a missing object is origin_object_missing
and a fleet-wide failure is fleet_wide_failure, not one finding per node.
"""

from __future__ import annotations

from dataclasses import replace

from edgeprobe.analyze.browser import browser_pass
from edgeprobe.analyze.cache import no_hit_streaks
from edgeprobe.analyze.certs import cert_findings, describe, node_certificates
from edgeprobe.analyze.content import content_type_findings, deleted_findings
from edgeprobe.analyze.nodes import (
    cache_findings,
    check_latency,
    dns_finding,
    failure_findings,
    fleet_slow,
    never_caches,
    with_latency,
)
from edgeprobe.analyze.origin_path import canary_findings, judge
from edgeprobe.analyze.rollup import (
    fleet_finding,
    name_addresses,
    node_statuses,
    origin_findings,
    region_findings,
)
from edgeprobe.analyze.stats import latency_summary
from edgeprobe.analyze.summary import fleet_headers, header_diffs, summarise
from edgeprobe.analyze.types import (
    Analysis,
    AnalysisInput,
    Check,
    Finding,
    Reference,
)
from edgeprobe.analyze.verdicts import reference, verdict
from edgeprobe.analyze.views import (
    address_owners,
    skipped_findings,
    summarise_views,
    view_findings,
)
from edgeprobe.observe.observations import FetchResult
from edgeprobe.vocabulary import INFO, OK, finding_order, health

__all__ = ["Analysis", "AnalysisInput", "Finding", "analyze"]



def _checks(inp: AnalysisInput) -> tuple[dict[str, Reference], dict[str, list[Check]]]:
    by_path: dict[str, list[FetchResult]] = {o.path: [] for o in inp.objects}
    for f in inp.fetches:
        by_path.setdefault(f.path, []).append(f)
    refs = {}
    checks: dict[str, list[Check]] = {}
    keys = {o.path: o.key for o in inp.objects}
    for path, fetches in by_path.items():
        ref = reference(inp.origin.objects.get(keys.get(path, "")), fetches)
        refs[path] = ref
        verdicts = [verdict(f, ref, inp.max_body_bytes) for f in fetches]
        any_ok = OK in verdicts
        # blame needs a witness: a peer that served it, or (partial probes) the bucket itself
        blameable = bool(ref.exists) and (any_ok or (inp.scope != "all" and ref.source == "bucket"))
        checks[path] = [Check(f, v, blameable) for f, v in zip(fetches, verdicts, strict=True)]
    return refs, checks


def analyze(inp: AnalysisInput) -> Analysis:
    refs, by_path = _checks(inp)
    by_node: dict[str, list[Check]] = {n.name: [] for n in inp.nodes}
    for checks in by_path.values():
        for c in checks:
            by_node.setdefault(c.fetch.node, []).append(c)
    peers_ok = {p: {c.fetch.node for c in cs if c.verdict == OK} for p, cs in by_path.items()}

    findings: list[Finding] = [dns_finding(r) for r in inp.resolutions if r.error_kind]
    speeds = {node: latency_summary(done) for node, checks in by_node.items()
              if (done := [ms for c in checks if c.fetch.status_code
                           and (ms := check_latency(c)) is not None])}
    for node, checks in by_node.items():
        peers = {n: s for n, s in speeds.items() if n != node}
        findings.extend(with_latency(node, checks, peers, inp,
                                     failure_findings(node, checks, refs, peers_ok, inp)))
    findings.extend(fleet_slow(speeds, inp.slow_ms))
    findings.extend(cache_findings(by_node))
    canary_by_node: dict[str, list[FetchResult]] = {}
    for f in inp.canaries:
        canary_by_node.setdefault(f.node, []).append(f)
    canaries = {n: judge(fs, inp.canary_reference) for n, fs in canary_by_node.items()}
    fleet = fleet_finding(inp, refs, by_path) if inp.scope == "all" else None
    if fleet:
        findings.append(fleet)
    findings = canary_findings(canaries, inp.canary_reference, by_node, findings,
                               inp.cache_valid_h, whole_fleet=inp.scope == "all",
                               waited_s=inp.timeout_s)
    summaries = {n: summarise(cs) for n, cs in by_node.items()}
    streaks = no_hit_streaks({n: s.cache for n, s in summaries.items()}, inp.no_hit_runs)
    summaries = {n: replace(s, cache={**s.cache, "no_hit_runs": streaks[n]})
                 for n, s in summaries.items()}
    findings.extend(never_caches(summaries))
    certs = node_certificates(by_node)
    tls_failed = {f.target for f in findings if f.kind == "node_tls_error"}
    findings.extend(cert_findings(certs, inp.now, inp.cert_warn_days, inp.media_host,
                                  tls_failed))
    findings.extend(origin_findings(inp, refs, by_path))
    browser_found, browser = browser_pass(inp, by_node, refs)
    findings.extend(browser_found)
    findings.extend(content_type_findings(by_path, inp.bucket_types, inp.url_prefix))
    findings.extend(deleted_findings(by_path, refs))
    findings.extend(Finding(n.kind, "samples", n.target, INFO, n.summary, n.evidence)
                    for n in inp.notes)
    findings.extend(Finding("node_tls_unverified", "node", node, INFO,
                            f"{node}: TLS verification is off (verify_tls = false); it would "
                            f"have failed: {message}", {"would_fail": message})
                    for node, message in (inp.tls_unverified or {}).items() if message)
    findings = name_addresses(findings, [n.name for n in inp.nodes])
    node_status = node_statuses(inp, findings, by_node)
    region_status, region_found = region_findings(inp, node_status, findings)
    findings.extend(region_found)
    owners = address_owners(inp.resolutions)
    views = summarise_views(inp.views, owners, node_status)
    findings.extend(view_findings(views, inp.views, inp.unlisted,
                                  [n.name for n in inp.nodes if n.name not in inp.unlisted],
                                  owners, node_status, inp.scope == "all"))
    findings.extend(skipped_findings(views, inp.skipped))
    findings.sort(key=lambda f: finding_order(f.severity, f.scope, f.target, f.kind))
    usual = fleet_headers({n: s.headers for n, s in summaries.items() if s.checks})
    summaries = {n: replace(s, header_diffs=header_diffs(s.headers, usual) if s.checks else {})
                 for n, s in summaries.items()}
    return Analysis(tuple(findings), node_status, region_status, refs,
                    {(c.fetch.node, p): c for p, cs in by_path.items() for c in cs},
                    health=health(f.severity for f in findings), nodes=summaries,
                    fleet_headers=usual,
                    certificates={n: describe(c, inp.now) for n, c in certs.items()},
                    canaries=canaries, views=views, browser=browser)
