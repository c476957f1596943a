"""The run result built from one run's analysis: the typed RunResult (types.py) that every
reporter, the incident state and the merge read. Sanitised here, once: nothing a server sent
carries a control character past this point."""

from __future__ import annotations

import platform
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from edgeprobe._version import __version__
from edgeprobe.analyze import Analysis, AnalysisInput
from edgeprobe.analyze.cache import STATUS_HEADERS
from edgeprobe.analyze.summary import check_matches
from edgeprobe.analyze.types import Check, Reference
from edgeprobe.config.settings import Settings
from edgeprobe.observe.repro import shown
from edgeprobe.observe.sanitize import clean_tree
from edgeprobe.result.codec import from_json
from edgeprobe.result.files import SCHEMA
from edgeprobe.result.types import RunResult
from edgeprobe.vocabulary import FAILURE_KINDS, ok


def _node(name: str, region: str, inp: AnalysisInput, analysis: Analysis) -> dict[str, Any]:
    res = next(r for r in inp.resolutions if r.node == name)
    summary = analysis.nodes[name]
    out: dict[str, Any] = {
        "name": name, "region": region, "host": res.host, "addresses": list(res.addresses),
        "status": analysis.node_status[name], "checks": summary.checks,
        "failures": summary.failures, "latency_ms": summary.latency_ms,
        "status_codes": summary.status_codes, "verdicts": summary.verdicts,
        "cache_hit_share": summary.cache_hit_share, "headers": summary.headers,
        "header_diffs": summary.header_diffs, "phases_ms": summary.phases_ms,
        "cache": summary.cache,
    }
    if name in analysis.canaries:
        canary = analysis.canaries[name]
        out["canary"] = {"verdict": canary.verdict, "answers": list(canary.answers)}
    if name in analysis.browser:
        out["browser"] = analysis.browser[name]
    if inp.tls_unverified is not None:
        out["tls_verification"] = inp.tls_unverified.get(name)
    if name in analysis.certificates:
        out["certificate"] = analysis.certificates[name]
    if res.error:
        out["error"] = res.error
    return out


def _check(c: Check, ref: Reference) -> dict[str, Any]:
    f = c.fetch
    size_ok, md5_ok = check_matches(c, ref)
    out: dict[str, Any] = {"status_code": f.status_code, "verdict": c.verdict,
                           "latency_ms": f.timing.total_ms, "size": f.size, "md5": f.md5,
                           "size_matches": size_ok, "md5_matches": md5_ok,
                           "address": f.address,
                           # from the request's start; null for a phase that did not happen
                           "timing": {"connect_ms": f.timing.connect_ms,
                                      "first_byte_ms": f.timing.first_byte_ms,
                                      "tls_ms": f.timing.tls_ms,
                                      "transfer_ms": f.timing.transfer_ms},
                           "headers": f.headers}
    if f.headers.get("ETag"):
        out["etag"] = f.headers["ETag"]
    cache = next((f.headers[h] for h in STATUS_HEADERS if f.headers.get(h)), None)
    if cache:
        out["cache"] = cache
    if f.error:
        out["error"] = f.error
    if f.body_excerpt:
        out["body_excerpt"] = f.body_excerpt
    if c.verdict in FAILURE_KINDS:
        out["curl"] = shown(f.curl)
    if f.protocol:
        out["protocol"] = f.protocol
    return out


def _unpublished(tree: Any) -> Any:
    """``tree`` without any ``body_excerpt``: what an ad-hoc node (an address another
    party's DNS named) answered is judged, but its words are not published — an internal
    service's error page may hold anything (docs/security.md)."""
    if isinstance(tree, dict):
        return {k: _unpublished(v) for k, v in tree.items() if k != "body_excerpt"}
    if isinstance(tree, list):
        return [_unpublished(v) for v in tree]
    return tree


def build(settings: Settings, inp: AnalysisInput, analysis: Analysis, started_at: datetime,
          duration_s: float, scope: dict[str, str | None]) -> RunResult:
    site, canary = settings.site, settings.canary
    adhoc = set(inp.unlisted)
    findings = [_unpublished(f.as_dict()) if f.target in adhoc else f.as_dict()
                for f in analysis.findings]
    nodes = [_node(n.name, n.region, inp, analysis) for n in inp.nodes]
    nodes = [_unpublished(n) if n["name"] in adhoc else n for n in nodes]
    regions: dict[str, list[str]] = {}
    for n in inp.nodes:
        regions.setdefault(n.region, []).append(n.name)
    objects = []
    for obj in inp.objects:
        o = inp.origin.objects.get(obj.key)
        ref = analysis.references[obj.path]
        objects.append({
            "path": obj.path, "key": obj.key, "source": obj.source,
            **({"chosen": obj.chosen} if obj.chosen else {}),
            "origin": {"exists": o.exists if o else None, "size": o.size if o else None,
                       "etag": o.etag if o else None,
                       **({"error": o.error} if o and o.error else {})},
            "reference": {"source": ref.source, "size": ref.size, "md5": ref.md5},
            "results": {node: _unpublished(_check(analysis.checks[(node, obj.path)], ref))
                        if node in adhoc else _check(analysis.checks[(node, obj.path)], ref)
                        for node in (n.name for n in inp.nodes)
                        if (node, obj.path) in analysis.checks},
        })
    # the boundary: from here on, nothing a server sent carries a control character
    return from_json(RunResult, clean_tree({
        "schema": SCHEMA,
        "ok": ok(f["severity"] for f in findings),
        "health": analysis.health,
        "started_at": started_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(duration_s, 3),
        "site": {"name": site.name, "media_url": site.media_url, "verify_tls": site.verify_tls},
        "scope": scope,
        "edgeprobe": {"version": __version__, "host": platform.node(),
                      "probe_file": settings.source,
                      **({"probe_file_sha256": settings.digest} if settings.digest else {})},
        "origin": {"bucket": inp.origin.bucket, "available": inp.origin.available,
                   "error": inp.origin.error},
        "counts": {"nodes": len(nodes), "objects": len(objects),
                   "checks": sum(n["checks"] for n in nodes)},
        **({"canary": {"prefix": canary.prefix, "requests": canary.requests,
                       "cache_valid_h": canary.cache_valid_h,
                       "reference": asdict(inp.canary_reference)}}
           if canary and canary.requests and inp.canary_reference else {}),
        **({"views": analysis.views} if analysis.views else {}),
        "findings": findings,
        "fleet_headers": analysis.fleet_headers,
        "nodes": nodes,
        "regions": [{"name": r, "status": analysis.region_status[r], "nodes": names}
                    for r, names in regions.items()],
        "objects": objects,
    }))
