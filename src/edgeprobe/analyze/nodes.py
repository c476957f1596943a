"""Findings about single nodes: failures against the reference, slowness, cache headers, DNS."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, NotRequired, TypedDict

from edgeprobe.analyze import tuning
from edgeprobe.analyze.stats import Latency, latency_summary, median
from edgeprobe.analyze.types import FAILURE_KINDS, AnalysisInput, Check, Finding, Reference
from edgeprobe.mastodon import MASTODON_CACHE_CONTROL
from edgeprobe.observe.observations import Resolution
from edgeprobe.observe.repro import shown
from edgeprobe.vocabulary import CRITICAL, INFO, MISMATCH, WARNING

_WHAT = {
    "node_media_missing": "answered {codes} for {n} of {m} objects that exist in the bucket",
    "node_server_error": "answered {codes} for {n} of {m} requests",
    "node_content_mismatch": "served bytes that differ from the bucket's for {n} of {m} objects",
    "node_unreachable": "could not be reached for {n} of {m} requests ({error})",
    "node_tls_error": "failed TLS for {n} of {m} requests: {error}",
    "node_redirect": "redirected {n} of {m} requests ({codes}) instead of serving them",
    "node_protocol_error": "sent invalid HTTP for {n} of {m} requests ({error})",
    "node_slow": "did not finish {n} of {m} requests within {timeout}s ({error})",
}


def severity(count: int, total: int, dominant: bool, total_failed: int) -> str:
    """Most requests failing is critical; some is a warning. When the node fails most
    requests in several ways at once, its dominant failure carries the critical."""
    if count * 2 > total or (dominant and total_failed * 2 > total):
        return CRITICAL
    return WARNING


def _codes(checks: Sequence[Check]) -> str:
    counts = Counter(str(c.fetch.status_code) for c in checks if c.fetch.status_code)
    return "/".join(code for code, _ in counts.most_common()) or "no status"


class Example(TypedDict):
    """One failing check in a finding's evidence (schema: ``$defs/example``)."""

    path: str
    verdict: str
    status_code: int | None
    address: str | None
    curl: str | None
    error: NotRequired[str]
    body_excerpt: NotRequired[str]
    expected_size: NotRequired[int | None]
    size: NotRequired[int | None]
    expected_md5: NotRequired[str | None]
    md5: NotRequired[str | None]
    curl_body: NotRequired[str]
    location: NotRequired[str]


class FailureEvidence(TypedDict):
    """A node failure finding's evidence (node_media_missing, node_server_error, …; schema:
    ``$defs/failure_evidence``). Later passes may add ``cause``/``see`` (the canary explains
    it) and ``node``/``address``/``fine_on`` (one address of several)."""

    checks: int
    failed: int
    verdicts: dict[str, int]
    status_codes: dict[str, int]
    peers_serving: list[str]
    reference: list[str]
    examples: list[Example]


class SlowEvidence(TypedDict):
    """node_slow's latency evidence (schema: ``$defs/slow_evidence``), alone or beside a
    timeout's FailureEvidence."""

    latency_ms: Latency
    peers_p50_ms: float | None
    peers_p95_ms: float | None
    slow_ms: float
    over_slow_ms: int


class DnsEvidence(TypedDict):
    """node_dns_failure's evidence: the name asked, how it failed, of which servers."""

    host: str | None
    error_kind: str | None
    nameservers: list[str]


def example(check: Check, ref: Reference | None) -> Example:
    f = check.fetch
    out: Example = {"path": f.path, "verdict": check.verdict, "status_code": f.status_code,
                    "address": f.address, "curl": shown(f.curl)}
    if f.error:
        out["error"] = f.error
    if f.body_excerpt:
        out["body_excerpt"] = f.body_excerpt
    if check.verdict == MISMATCH and ref is not None:
        out["expected_size"], out["size"] = ref.size, f.size
        out["expected_md5"], out["md5"] = ref.md5, f.md5
        if f.curl:
            out["curl_body"] = f.curl.body(ref.size, ref.md5)
    if f.headers.get("Location"):
        out["location"] = f.headers["Location"]
    return out


def failure_findings(node: str, checks: Sequence[Check], refs: dict[str, Reference],
                     peers_ok: dict[str, set[str]], inp: AnalysisInput) -> list[Finding]:
    """node_media_missing, node_server_error, … for the blameable checks of one node."""
    blameable = [c for c in checks if c.blameable]
    failed = [c for c in blameable if c.verdict in FAILURE_KINDS]
    if not failed:
        return []
    by_kind: dict[str, list[Check]] = {}
    for c in failed:
        by_kind.setdefault(FAILURE_KINDS[c.verdict], []).append(c)
    dominant = max(by_kind, key=lambda k: len(by_kind[k]))
    total = len(blameable)
    findings = []
    for kind, group in by_kind.items():
        peers = set().union(*(peers_ok.get(c.fetch.path, set()) for c in group)) - {node}
        sources = {refs[c.fetch.path].source for c in group}
        text = _WHAT[kind].format(codes=_codes(group), n=len(group), m=total,
                                  error=group[0].fetch.error or "", timeout=inp.timeout_s,
                                  host=inp.media_host)
        if peers:
            text += f" and that {len(peers)} other node{'s' if len(peers) != 1 else ''} serve" \
                if kind == "node_media_missing" else f"; {len(peers)} other node" \
                f"{'s' if len(peers) != 1 else ''} served them correctly"
        if "consensus" in sources:
            text += " (bucket unavailable: judged against the other nodes)"
        evidence: FailureEvidence = {
            "checks": total, "failed": len(group),
            "verdicts": dict(Counter(c.verdict for c in group)),
            "status_codes": dict(Counter(str(c.fetch.status_code) for c in group
                                         if c.fetch.status_code)),
            "peers_serving": sorted(peers),
            "reference": sorted(sources),
            "examples": [example(c, refs.get(c.fetch.path))
                         for c in group[: tuning.EXAMPLES_IN_EVIDENCE]],
        }
        findings.append(Finding(kind, "node", node,
                                severity(len(group), total, kind == dominant, len(failed)),
                                f"{node} {text}", evidence))
    return findings


def check_latency(c: Check) -> float | None:
    """What a check says of the edge's speed: the total time, or the first byte's for a
    large body, whose transfer a busy prober (hashing, other transfers) slows as much as the
    edge does."""
    t = c.fetch.timing
    if (c.fetch.size or 0) >= tuning.LARGE_BODY_BYTES and t.first_byte_ms is not None:
        return t.first_byte_ms
    return t.total_ms


def with_latency(node: str, checks: Sequence[Check], peers: Mapping[str, Latency],
                 inp: AnalysisInput, failures: Sequence[Finding]) -> list[Finding]:
    """The node's failure findings with its latency judged: a new list, the timeouts'
    node_slow (if any) given the latency evidence, else a node_slow of its own when the
    latency is over slow_ms or far above the peers'.

    The evidence must survive a loaded prober, which slows every answer it times: "over
    slow_ms" needs several answers and a share of them (tuning.SLOW_MIN_OVER, SLOW_SHARE),
    and, where peers were measured in the same run, a p95 at least tuning.SLOW_GAP times
    theirs — a prober's own load (or a slow bucket behind every edge) slows the peers as
    much, and is fleet_slow, not this node's fault. "Far above its peers" compares medians
    of the same run, which a busy prober inflates alike."""
    done = [ms for c in checks if c.fetch.status_code and (ms := check_latency(c)) is not None]
    lat = latency_summary(done)
    peer_p50 = median([s["p50"] for s in peers.values() if s["p50"] is not None])
    peer_p95 = median([s["p95"] for s in peers.values() if s["p95"] is not None])
    over = [ms for ms in done if ms > inp.slow_ms]
    need = max(tuning.SLOW_MIN_OVER, -(-len(done) * tuning.SLOW_SHARE // 1))
    above_peers = peer_p95 is None or (lat["p95"] or 0) >= tuning.SLOW_GAP * peer_p95
    reason = None
    if lat["p95"] is not None and lat["p95"] > inp.slow_ms and len(over) >= need \
            and above_peers:
        reason = (f"p95 latency {lat['p95']:.0f} ms is over slow_ms {inp.slow_ms:.0f} ms "
                  f"({len(over)} of {len(done)} answers"
                  + (f"; {lat['p95'] / peer_p95:.0f}× its peers' {peer_p95:.0f} ms)"
                     if peer_p95 else ")"))
    elif (lat["p50"] is not None and len(done) >= tuning.SLOW_MIN_OVER and peer_p50
          and lat["p50"] > tuning.SLOW_PEER_FACTOR * peer_p50 and lat["p50"] > inp.slow_ms / 2):
        reason = (f"median latency {lat['p50']:.0f} ms is {lat['p50'] / peer_p50:.0f}× "
                  f"its peers' {peer_p50:.0f} ms")
    evidence: SlowEvidence = {"latency_ms": lat, "peers_p50_ms": peer_p50,
                              "peers_p95_ms": peer_p95, "slow_ms": inp.slow_ms,
                              "over_slow_ms": len(over)}
    if any(f.kind == "node_slow" for f in failures):  # timeouts: enrich, never duplicate
        return [replace(f, summary=f.summary + (f"; {reason}" if reason else ""),
                        evidence={**f.evidence, **evidence}) if f.kind == "node_slow" else f
                for f in failures]
    if reason is None:
        return list(failures)
    return [*failures, Finding("node_slow", "node", node, WARNING, f"{node}: {reason}",
                               evidence)]


def fleet_slow(speeds: Mapping[str, Latency], slow_ms: float) -> list[Finding]:
    """Every node (two or more) with a p95 over slow_ms: the bucket behind them, a shared
    path, or the prober's own load — nothing names one edge, so one info finding and no
    node blamed (a node far above even these is still node_slow)."""
    p95s = {n: s["p95"] for n, s in speeds.items() if s["p95"] is not None}
    if len(p95s) < 2 or not all(v > slow_ms for v in p95s.values()):
        return []
    return [Finding("fleet_slow", "fleet", "fleet", INFO,
                    f"every node ({len(p95s)}) answered slowly (p95 over slow_ms "
                    f"{slow_ms:.0f} ms): the bucket behind them, a shared network path, or "
                    "the prober's own load — no single edge stands out",
                    {"p95_ms": p95s, "slow_ms": slow_ms})]


def normalise_cache_control(value: str | None) -> str | None:
    if value is None:
        return None
    parts = sorted(p.strip().lower() for p in value.split(",") if p.strip())
    return ", ".join(parts) or None


def cache_findings(checks_by_node: dict[str, list[Check]]) -> list[Finding]:
    """Cache-Control that differs from the fleet's, or is missing, on 200 responses."""
    dominant: dict[str, str | None] = {}
    for node, checks in checks_by_node.items():
        values = [normalise_cache_control(c.fetch.headers.get("Cache-Control"))
                  for c in checks if c.fetch.status_code == 200]
        if values:
            dominant[node] = Counter(values).most_common(1)[0][0]
    present = Counter(v for v in dominant.values() if v is not None).most_common()
    if not present:
        fleet = None
    elif len(present) > 1 and present[0][1] == present[1][1]:
        expected = normalise_cache_control(MASTODON_CACHE_CONTROL)
        tied = [v for v, n in present if n == present[0][1]]
        fleet = expected if expected in tied else None
        if fleet is None:  # an even split: nobody is the odd one out, only missing headers are
            dominant = {n: v for n, v in dominant.items() if v is None}
    else:
        fleet = present[0][0]
    findings = []
    for node, value in dominant.items():
        if value == fleet and value is not None:
            continue
        sent = "no Cache-Control" if value is None else f"Cache-Control: {value}"
        want = f"the fleet sends {fleet!r}" if fleet else \
            f"Mastodon stores {MASTODON_CACHE_CONTROL!r}"
        findings.append(Finding("node_cache_misconfigured", "node", node, WARNING,
                                f"{node} sends {sent}; {want}",
                                {"cache_control": value, "fleet_cache_control": fleet}))
    return findings


def dns_finding(res: Resolution) -> Finding:
    return Finding("node_dns_failure", "node", res.node, CRITICAL,
                   f"{res.node}: {res.error}",
                   DnsEvidence(host=res.host, error_kind=res.error_kind,
                               nameservers=list(res.nameservers)))


def _no_hit_words(cache: Mapping[str, Any]) -> str:
    if not cache.get("misses"):
        return "its 200s said nothing of a cache: no X-Cache-Status, X-Cache or Age, as an " \
               "nginx without proxy_cache"
    if cache.get("unknown"):
        return "its 200s said MISS or BYPASS, or nothing of a cache"
    return "every 200 said MISS or BYPASS"


def never_caches(summaries: Mapping[str, Any]) -> list[Finding]:
    """An edge none of whose 200s was a cache hit (MISS/BYPASS, or no cache header and no
    ``Age`` at all) for ``NEVER_CACHES_RUNS`` runs in a row while its peers had hits on the
    same objects: its cache is off or broken, so every request
    goes to the bucket (cost, latency, and no stale copy to serve in an outage)."""
    out = []
    for node, s in summaries.items():
        runs = s.cache.get("no_hit_runs", 0)
        if runs >= tuning.NEVER_CACHES_RUNS:
            out.append(Finding(
                "node_never_caches", "node", node, WARNING,
                f"{node} has not answered from its cache for {runs} runs in a row ("
                f"{_no_hit_words(s.cache)}) while other nodes had cache hits on the same "
                "objects: its cache is off or broken, so every request goes to the bucket",
                {"no_hit_runs": runs, "misses": s.cache.get("misses"),
                 "unknown": s.cache.get("unknown"),
                 "threshold_runs": tuning.NEVER_CACHES_RUNS}))
    return out
