"""Who gets which edge: the views' GeoDNS answers judged against the nodes' state
(docs/analysis.md, "Who gets which edge"). Pure: the answers come from observe/geodns.py.

- ``region_routed_to_failing_node`` (region, the view's name): users of a view are sent to
  a node that is failing or unreachable (critical) or degraded (warning) — said from DNS,
  not from the probe file's region labels;
- ``dns_unlisted_address`` (dns, the address): DNS hands out an address no node in the
  probe file has; the pipeline probed it as an ad-hoc node, whose state is said;
- ``node_not_in_dns`` (dns, info): a listed node that no view receives;
- ``view_dns_failure`` (dns, the view): no answer for a view (NXDOMAIN: critical; SERVFAIL,
  timeout, no authoritative server: warning);
- ``dns_ecs_ignored`` (dns, info, once): every answer had scope 0 — the servers do not
  answer by client subnet, so per-view routing says nothing and impact falls back to the
  region labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from edgeprobe.analyze.types import Finding, ViewDnsAnswer, ViewRow
from edgeprobe.config import defaults
from edgeprobe.observe.observations import Resolution, ViewAnswer
from edgeprobe.vocabulary import (
    CRITICAL,
    DEGRADED,
    FAILING,
    HEALTHY,
    INFO,
    STATUSES,
    UNKNOWN,
    UNREACHABLE,
    WARNING,
)

BAD = {FAILING: CRITICAL, UNREACHABLE: CRITICAL, DEGRADED: WARNING}


def address_owners(resolutions: Sequence[Resolution]) -> dict[str, str]:
    """Address → the node (or NAME@ADDRESS node) probed on it."""
    return {a: r.node for r in resolutions for a in r.addresses}


def ecs_honoured(answers: Sequence[ViewAnswer]) -> bool | None:
    """Whether any answer depended on the client subnet (scope > 0); None: no answers."""
    scopes = [a.scope for a in answers if a.error_kind is None and a.addresses]
    if not scopes:
        return None
    return any(s for s in scopes)


def summarise_views(answers: Sequence[ViewAnswer], owners: Mapping[str, str],
                    status: Mapping[str, str]) -> list[ViewRow]:
    """Per view: its subnets, the addresses it gets, their nodes and states (the "who gets
    which edge" table), and every answer."""
    out: dict[str, ViewRow] = {}
    for a in answers:
        v = out.setdefault(a.view, {"name": a.view, "subnets": [], "addresses": [],
                                    "nodes": [], "status": HEALTHY, "answers": []})
        if a.subnet not in v["subnets"]:
            v["subnets"].append(a.subnet)
        for addr in a.addresses:
            if addr not in v["addresses"]:
                v["addresses"].append(addr)
        row = ViewDnsAnswer(subnet=a.subnet, type=a.rdtype, server=a.server,
                            addresses=list(a.addresses), ttl=a.ttl, scope=a.scope,
                            error_kind=a.error_kind, error=a.error)
        if a.cname:
            row["cname"] = list(a.cname)
        if a.dropped:
            row["dropped"] = a.dropped
        v["answers"].append(row)
    rank = list(STATUSES)
    for v in out.values():
        v["nodes"] = [{"address": addr, "node": owners.get(addr),
                       "status": status.get(owners.get(addr, ""), UNKNOWN)}
                      for addr in v["addresses"]]
        states = [n["status"] for n in v["nodes"] if n["status"] in rank]
        if any(a["error_kind"] for a in v["answers"]) and not v["addresses"]:
            v["status"] = UNREACHABLE
        elif states:
            v["status"] = max(states, key=rank.index)
    return list(out.values())


def view_findings(views: Sequence[ViewRow], answers: Sequence[ViewAnswer],
                  unlisted: Sequence[str], listed: Sequence[str], owners: Mapping[str, str],
                  status: Mapping[str, str], whole_fleet: bool) -> list[Finding]:
    findings: list[Finding] = []
    honoured = ecs_honoured(answers)
    for v in views:
        failed = [a for a in v["answers"] if a["error_kind"]]
        if not failed and not v["addresses"]:  # NOERROR, but no A and no AAAA
            findings.append(Finding(
                "view_dns_failure", "dns", v["name"], CRITICAL,
                f"users in {v['name']} ({', '.join(v['subnets'])}): the media host has no A "
                "or AAAA record for them", {"failed": 0, "answers": len(v["answers"]),
                                            "errors": ["no_address"]}))
        if failed:
            kinds = {str(a["error_kind"]) for a in failed}
            severity = CRITICAL if "nxdomain" in kinds else WARNING
            findings.append(Finding(
                "view_dns_failure", "dns", v["name"], severity,
                f"users in {v['name']} ({', '.join(v['subnets'])}): {failed[0]['error']}",
                {"failed": len(failed), "answers": len(v["answers"]),
                 "errors": sorted(kinds)}))
    if honoured is False:
        findings.append(Finding(
            "dns_ecs_ignored", "dns", "dns", INFO,
            "the authoritative servers answer the same for every view (ECS scope 0): they do "
            "not route by client subnet, so who is affected comes from the region labels",
            {"views": [v["name"] for v in views]}))
    if honoured:
        for v in views:
            bad = [n for n in v["nodes"] if n["status"] in BAD]
            if not bad:
                continue
            fine = [n for n in v["nodes"] if n["status"] not in BAD]
            names = ", ".join(f"{n['node']}, which is {n['status']}" for n in bad)
            text = f"users in {v['name']} ({', '.join(v['subnets'])}) are sent to {names}"
            text += ("; also to " + ", ".join(f"{n['node']} ({n['status']})" for n in fine)
                     if fine else "; no healthy edge is in their answer")
            severity = CRITICAL if any(BAD[n["status"]] == CRITICAL for n in bad) else WARNING
            findings.append(Finding("region_routed_to_failing_node", "region", v["name"],
                                    severity, text,
                                    {"subnets": v["subnets"], "nodes": v["nodes"]}))
    for addr in unlisted:
        got = [v["name"] for v in views if addr in v["addresses"]]
        state = status.get(owners.get(addr, addr), UNKNOWN)
        findings.append(Finding(
            "dns_unlisted_address", "dns", addr, WARNING,
            f"DNS sends users in {', '.join(got)} to {addr}, which no node in the probe file "
            f"has: probed as an ad-hoc node, it is {state}; add it as a [[nodes]] entry",
            {"views": got, "status": state}))
    if whole_fleet and any(v["addresses"] for v in views):
        given = {addr for v in views for addr in v["addresses"]}
        by_node: dict[str, list[str]] = {}
        for addr, node in owners.items():
            by_node.setdefault(node, []).append(addr)
        for node in listed:
            if node in by_node and not given & set(by_node[node]):
                findings.append(Finding(
                    "node_not_in_dns", "dns", node, INFO,
                    f"{node} ({', '.join(by_node[node])}) is in no view's DNS answer: no user "
                    "of these views is sent to it", {"addresses": by_node[node]}))
    return findings


def skipped_findings(views: Sequence[ViewRow],
                     skipped: Sequence[tuple[str, str]]) -> list[Finding]:
    """What GeoDNS handed out that the run did not probe: each internal or unprobed address
    named, and everything past the caps (per answer, per run) in one finding — 190 records
    must not become 190 findings or 190 metric series."""
    out = _one_by_one(views, [(a, w) for a, w in skipped if w != "capped"])
    capped = [a for a, w in skipped if w == "capped"]
    dropped = sum(a.get("dropped", 0) for v in views for a in v["answers"])
    if capped or dropped:
        parts = ([f"{len(capped)} more addresses no node lists were not probed (a run probes "
                  f"at most {defaults.MAX_UNLISTED})"] if capped else []) + \
            ([f"answers held {dropped} addresses past the first "
              f"{defaults.MAX_VIEW_ADDRESSES} of one answer, not taken"] if dropped else [])
        out.append(Finding(
            "dns_unlisted_address", "dns", "dns", WARNING,
            "DNS hands out more addresses than a run takes: " + "; ".join(parts) +
            ": list your edges as [[nodes]]", {"not_probed": capped[:50],
                                               "not_probed_count": len(capped),
                                               "dropped_from_answers": dropped,
                                               "status": "not_probed", "why": "capped"}))
    return out


def _one_by_one(views: Sequence[ViewRow],
                skipped: Sequence[tuple[str, str]]) -> list[Finding]:
    """An internal address (not globally routable: users cannot reach it, and edgeprobe
    does not probe another party's internal address unless told to) is
    dns_internal_address; a public one left out by policy is dns_unlisted_address."""
    out = []
    for addr, why in skipped:
        got = [v["name"] for v in views if addr in v["addresses"]]
        if why == "internal":
            out.append(Finding(
                "dns_internal_address", "dns", addr, WARNING,
                f"DNS sends users in {', '.join(got)} to {addr}, an address that is not "
                "globally routable (loopback, private, link-local or reserved): their clients "
                'cannot reach it. Not probed ([dns] probe_unlisted = "public")',
                {"views": got, "status": "not_probed"}))
        else:
            out.append(Finding(
                "dns_unlisted_address", "dns", addr, WARNING,
                f"DNS sends users in {', '.join(got)} to {addr}, which no node in the probe "
                "file has: not probed ([dns] probe_unlisted = \"none\"); add it as a "
                "[[nodes]] entry",
                {"views": got, "status": "not_probed", "why": why}))
    return out
