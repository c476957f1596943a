"""Table-driven unit tests of the pure analysis: no servers, just the stages' data."""

from __future__ import annotations

import hashlib
import random

import pytest

from edgeprobe.analyze import AnalysisInput, analyze
from edgeprobe.analyze.verdicts import etag_md5
from edgeprobe.config.settings import NodeSettings
from edgeprobe.observe.observations import (
    FetchResult,
    OriginFacts,
    OriginObject,
    Resolution,
    SampleObject,
    Timing,
)
from edgeprobe.observe.repro import Curl

CC = "public, max-age=315576000, immutable"


def body(i: int) -> tuple[int, str]:
    data = f"object-{i}".encode() * (i + 1)
    return len(data), hashlib.md5(data).hexdigest()


def fleet(matrix: dict[str, list], *, regions: dict[str, str] | None = None,
          origin: str = "ok", exists: dict[int, bool] | None = None, multipart: bool = False,
          latency: dict[str, float | list[float]] | None = None, scope: str = "all",
          cache: dict[str, str | None] | None = None):
    """matrix: node → one answer per object: 200, "bad" (200 wrong bytes), a status code,
    or an error kind ("unreachable", "tls_error", …)."""
    n_objects = len(next(iter(matrix.values())))
    objects = tuple(SampleObject(f"/system/k{i}.png", f"k{i}.png", "paths")
                    for i in range(n_objects))
    exists = exists or {}
    origin_objects = {}
    for i, o in enumerate(objects):
        size, md5 = body(i)
        if exists.get(i, True):
            etag = f'"{hashlib.md5(md5.encode()).hexdigest()}-2"' if multipart else f'"{md5}"'
            origin_objects[o.key] = OriginObject(o.key, True, size, etag)
        else:
            origin_objects[o.key] = OriginObject(o.key, False)
    report = OriginFacts("media", origin == "ok", None if origin == "ok" else "unreachable",
                          None if origin == "ok" else "cannot reach the S3 endpoint",
                          origin_objects if origin == "ok" else {})
    fetches = []
    for node, answers in matrix.items():
        for i, (o, answer) in enumerate(zip(objects, answers, strict=True)):
            size, md5 = body(i)
            total = (latency or {}).get(node, 10.0)
            total = total[i] if isinstance(total, list) else total  # per object, or all
            headers = {"Cache-Control": (cache or {}).get(node, CC),
                       "Access-Control-Allow-Origin": "*"}  # as Mastodon's proxy block adds
            headers = {k: v for k, v in headers.items() if v is not None}
            common = {"node": node, "path": o.path, "url": "https://m" + o.path,
                      "address": "127.0.0.1", "curl": Curl(("curl", "…")),
                      "timing": Timing(connect_ms=1, first_byte_ms=2, total_ms=total)}
            if answer == 200:
                fetches.append(FetchResult(**common, status_code=200, size=size, md5=md5,
                                           headers=headers))
            elif answer == "bad":
                fetches.append(FetchResult(**common, status_code=200, size=size, md5="0" * 32,
                                           headers=headers))
            elif isinstance(answer, int):
                fetches.append(FetchResult(**common, status_code=answer, size=10))
            else:
                fetches.append(FetchResult(**common, error_kind=answer, error=answer))
    regions = regions or {}
    nodes = tuple(NodeSettings(n, regions.get(n, "r"), host=f"{n}.test") for n in matrix)
    inp = AnalysisInput("m", nodes,
                        tuple(Resolution(n, f"{n}.test", ("127.0.0.1",)) for n in matrix),
                        objects, report, tuple(fetches), slow_ms=1500, timeout_s=10,
                        max_body_bytes=10**6, scope=scope)
    return analyze(inp)


def blamed(analysis):
    return {(f.kind, f.target, f.severity) for f in analysis.findings
            if f.severity in ("warning", "critical")}


OK4 = [200] * 4
CASES = {
    "one node 404s everything": (
        {"a": [404] * 4, "b": OK4, "c": OK4}, {},
        {("node_media_missing", "a", "critical")}),
    "one node in its region, failing: the region is degraded": (
        {"a": [404] * 4, "b": OK4, "c": OK4}, {"regions": {"a": "west", "b": "east", "c": "east"}},
        {("node_media_missing", "a", "critical"), ("region_degraded", "west", "critical")}),
    "all nodes failing: fleet-wide, no node blamed": (
        {"a": [403] * 4, "b": [403] * 4, "c": [403] * 4}, {},
        {("fleet_wide_failure", "fleet", "critical")}),
    "one object fails everywhere: fleet-wide warning": (
        {"a": [404, 200, 200, 200], "b": [404, 200, 200, 200]}, {},
        {("fleet_wide_failure", "fleet", "warning")}),
    "origin down: judged by consensus": (
        {"a": [404] * 4, "b": OK4, "c": OK4}, {"origin": "down"},
        {("node_media_missing", "a", "critical"), ("origin_unavailable", "media", "warning")}),
    "origin down and nodes disagree 1:1: nobody blamed": (
        {"a": ["bad"] * 4, "b": OK4}, {"origin": "down"},
        {("origin_unavailable", "media", "warning")}),
    "mixed 404 and 502: dominant is critical": (
        {"a": [404, 404, 404, 502], "b": OK4, "c": OK4}, {},
        {("node_media_missing", "a", "critical"), ("node_server_error", "a", "warning")}),
    "one 502 in four: warning": (
        {"a": [502, 200, 200, 200], "b": OK4}, {},
        {("node_server_error", "a", "warning")}),
    "object missing from the bucket: nodes that 404 are right": (
        {"a": [404, 200, 200, 200], "b": [404, 200, 200, 200]}, {"exists": {0: False}},
        {("origin_object_missing", "/system/k0.png", "warning")}),
    # deleted (or moderated) media still served by one edge while its peer 404s it: that
    # edge's users still see it (0.2 called this fine)
    "object missing from the bucket but still served by one edge": (
        {"a": [200, 200, 200, 200], "b": [404, 200, 200, 200]}, {"exists": {0: False}},
        {("origin_object_missing", "/system/k0.png", "warning"),
         ("node_serves_deleted", "a", "warning")}),
    "object missing from the bucket, every edge 404s it: the bucket's finding only": (
        {"a": [404, 200, 200, 200], "b": [404, 200, 200, 200]}, {"exists": {0: False}},
        {("origin_object_missing", "/system/k0.png", "warning")}),
    "multipart ETag: bytes judged by size and the peers' hash": (
        {"a": ["bad"] * 4, "b": OK4, "c": OK4}, {"multipart": True},
        {("node_content_mismatch", "a", "critical")}),
    "unreachable node": (
        {"a": ["unreachable"] * 4, "b": OK4}, {},
        {("node_unreachable", "a", "critical")}),
    "slow node far above its peers": (
        {"a": OK4, "b": OK4, "c": OK4}, {"latency": {"a": 900.0, "b": 20.0, "c": 25.0}},
        {("node_slow", "a", "warning")}),
    # the bucket, a shared path or the prober's own load: fleet_slow (info), nobody blamed
    "everyone slow over slow_ms": (
        {"a": OK4, "b": OK4}, {"latency": {"a": 1600.0, "b": 1700.0}}, set()),
    "one node slow among slow peers: still named": (
        {"a": OK4, "b": OK4, "c": OK4}, {"latency": {"a": 4000.0, "b": 1600.0, "c": 1700.0}},
        {("node_slow", "a", "warning")}),
    "a node alone over slow_ms is judged by slow_ms": (
        {"a": OK4}, {"latency": {"a": 1600.0}, "scope": "node"},
        {("node_slow", "a", "warning")}),
    "a loaded prober's two late answers among thirteen: nobody blamed": (
        {"a": [200] * 13, "b": [200] * 13, "c": [200] * 13},
        {"latency": {"a": [20.0] * 11 + [1600.0, 1700.0], "b": 25.0, "c": 30.0}}, set()),
    "slow on four answers of thirteen: blamed": (
        {"a": [200] * 13, "b": [200] * 13, "c": [200] * 13},
        {"latency": {"a": [20.0] * 9 + [2000.0] * 4, "b": 25.0, "c": 30.0}},
        {("node_slow", "a", "warning")}),
    "missing Cache-Control": (
        {"a": OK4, "b": OK4, "c": OK4}, {"cache": {"a": None}},
        {("node_cache_misconfigured", "a", "warning")}),
    "different Cache-Control": (
        {"a": OK4, "b": OK4, "c": OK4}, {"cache": {"a": "no-store"}},
        {("node_cache_misconfigured", "a", "warning")}),
    "one node probed alone is judged against the bucket": (
        {"a": [404] * 4}, {"scope": "node"},
        {("node_media_missing", "a", "critical")}),
    "single-node fleet failing: fleet-wide": (
        {"a": [404] * 4}, {},
        {("fleet_wide_failure", "fleet", "critical")}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_analysis_table(name):
    matrix, kwargs, expected = CASES[name]
    assert blamed(fleet(matrix, **kwargs)) == expected


def test_statuses_roll_up():
    a = fleet({"a": [404] * 4, "b": OK4, "c": ["unreachable"] * 4, "d": [502, 200, 200, 200]},
              regions={"a": "west", "b": "west", "c": "east", "d": "eu"})
    assert a.node_status == {"a": "failing", "b": "healthy", "c": "unreachable", "d": "degraded"}
    assert a.region_status == {"west": "degraded", "east": "unreachable", "eu": "degraded"}


@pytest.mark.parametrize(("origin", "answers"), [
    ("ok", [200, 200, 200, 404, 403, 502, "bad", "unreachable", "tls_error", "timeout", 302]),
    # without the bucket, the nodes' plurality is the truth, so only wrong *bytes* agreed on by
    # a majority could outvote a correct node (docs/analysis.md); errors never can
    ("down", [200, 200, 200, 404, 403, 502, "unreachable", "tls_error", "timeout", 302]),
])
def test_a_healthy_node_is_never_blamed_whatever_its_peers_do(origin, answers):
    rng = random.Random(7)
    for _ in range(500):
        n_nodes, n_objects = rng.randint(1, 5), rng.randint(1, 5)
        matrix = {f"n{i}": [rng.choice(answers) for _ in range(n_objects)]
                  for i in range(n_nodes)}
        exists = {i: rng.random() > 0.2 for i in range(n_objects)}
        # the good node serves what the bucket has, and 404s what it lost (serving deleted
        # media while a peer 404s it is node_serves_deleted); without the bucket, it serves all
        matrix["good"] = [200 if exists[i] or origin == "down" else 404
                          for i in range(n_objects)]
        analysis = fleet(matrix, origin=origin, regions={n: rng.choice("xy") for n in matrix},
                         exists=exists)
        assert analysis.node_status["good"] == "healthy", matrix
        assert not [f for f in analysis.findings if f.target == "good"
                    and f.severity != "info"], matrix


def test_consensus_limit_without_the_bucket():
    """Documented limit: with the bucket down, identical wrong bytes from most nodes win."""
    analysis = fleet({"a": ["bad"] * 2, "b": ["bad"] * 2, "good": [200] * 2}, origin="down")
    assert ("node_content_mismatch", "good", "critical") in blamed(analysis)


@pytest.mark.parametrize(("etag", "md5"), [
    ('"9b2cf535f27731c974343645a3985328"', "9b2cf535f27731c974343645a3985328"),
    ("9B2CF535F27731C974343645A3985328", "9b2cf535f27731c974343645a3985328"),
    ('"9b2cf535f27731c974343645a3985328-3"', None), (None, None), ('"abc"', None)])
def test_etag_md5(etag, md5):
    assert etag_md5(etag) == md5


def test_certificate_expiry_and_difference():
    from datetime import UTC, datetime, timedelta

    from edgeprobe.analyze.certs import cert_findings
    from edgeprobe.observe.observations import Certificate

    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def cert(days, sha="a"):
        when = (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Certificate("CN=m", "CN=ca", "DNS:m", when, sha * 64)

    certs = {"far": cert(30), "soon": cert(10), "now": cert(2), "gone": cert(-1),
             "gone_unverified": cert(-1, "b")}
    found = {(f.kind, f.target, f.severity)
             for f in cert_findings(certs, now, 14, "m", tls_failed={"gone"})}
    assert found == {("node_cert_expiring", "soon", "warning"),
                     ("node_cert_expiring", "now", "critical"),
                     ("node_cert_expiring", "gone_unverified", "critical"),
                     ("certificates_differ", "fleet", "info")}


def test_a_view_whose_answer_holds_no_address_is_a_critical_view_dns_failure():
    from edgeprobe.analyze.views import summarise_views, view_findings
    from edgeprobe.observe.observations import ViewAnswer

    answers = [ViewAnswer("us-west", "198.51.100.0/24", t, "127.0.0.1:53", scope=24)
               for t in ("A", "AAAA")]
    answers += [ViewAnswer("eu", "192.0.2.0/24", "A", "127.0.0.1:53", ("127.0.1.5",), 60, 24)]
    owners = {"127.0.1.5": "cdn-frankfurt-1"}
    views = summarise_views(answers, owners, {"cdn-frankfurt-1": "healthy"})
    found = view_findings(views, answers, (), ["cdn-frankfurt-1"], owners,
                          {"cdn-frankfurt-1": "healthy"}, True)
    assert [(f.kind, f.target, f.severity) for f in found] == [
        ("view_dns_failure", "us-west", "critical")]
    assert found[0].summary == ("users in us-west (198.51.100.0/24): the media host has no A "
                                "or AAAA record for them")


def test_a_slow_fleet_is_one_info_and_blames_no_node():
    a = fleet({"a": OK4, "b": OK4}, latency={"a": 1600.0, "b": 1700.0})
    (slow,) = [f for f in a.findings if f.kind == "fleet_slow"]
    assert (slow.severity, slow.target) == ("info", "fleet")
    assert slow.evidence["p95_ms"] == {"a": 1600.0, "b": 1700.0}
    assert set(a.node_status.values()) == {"healthy"}


def test_unprobed_dns_addresses_are_named_and_the_excess_is_one_finding():
    from edgeprobe.analyze.views import skipped_findings

    views = [{"name": "west", "addresses": ["10.0.0.5", "203.0.113.9", "203.0.113.10"],
              "answers": [{"dropped": 3}]}]
    found = skipped_findings(views, [("10.0.0.5", "internal"), ("203.0.113.9", "not_probed"),
                                     ("203.0.113.10", "capped")])
    assert [(f.kind, f.target) for f in found] == [
        ("dns_internal_address", "10.0.0.5"), ("dns_unlisted_address", "203.0.113.9"),
        ("dns_unlisted_address", "dns")]
    assert 'probe_unlisted = "none"' in found[1].summary
    assert found[2].evidence["not_probed"] == ["203.0.113.10"]
    assert found[2].evidence["dropped_from_answers"] == 3
