"""The re-test's bookkeeping, pure: which findings are asked again, and how the new answers
take the old ones' places (end to end: tests/fleet/test_retest_nginx.py)."""

from __future__ import annotations

from edgeprobe.analyze import AnalysisInput
from edgeprobe.analyze.types import Analysis, Finding
from edgeprobe.observe.observations import Certificate, FetchResult, OriginFacts
from edgeprobe.pipeline.retest import _swap, candidates

CERT = Certificate(subject="CN=m", issuer="CN=ca", san="DNS:m", not_after="2026-12-02T00:00:00Z",
                   sha256="ab")


def test_only_new_request_failures_of_nodes_are_asked_again():
    findings = (Finding("node_media_missing", "node", "a", "critical", "a 404s"),
                Finding("node_server_error", "node", "b", "critical", "b 502s"),
                Finding("node_cors_missing", "node", "c", "critical", "c: no CORS"),
                Finding("fleet_wide_failure", "fleet", "fleet", "critical", "all"))
    analysis = Analysis(findings, {}, {}, {}, {})
    assert [f.target for f in candidates(analysis, {"node_server_error|b"})] == ["a"]


def test_a_re_fetched_answer_replaces_the_old_and_keeps_the_node_s_certificate():
    old = FetchResult("a", "/x", "u", "127.0.0.1", status_code=404, certificate=CERT)
    other = FetchResult("a", "/y", "u", "127.0.0.1", status_code=200)
    inp = AnalysisInput("m", (), (), (), OriginFacts("b", True), (old, other), 1000, 5, 10)
    fresh = FetchResult("a", "/x", "u", "127.0.0.1", status_code=200)
    swapped = _swap(inp, [fresh])
    assert swapped.fetches[0].status_code == 200 and swapped.fetches[0].certificate == CERT
    assert swapped.fetches[1] is other


def test_a_budget_smaller_than_the_first_wait_re_tests_nothing():
    import asyncio
    from dataclasses import replace

    from edgeprobe.config.settings import (
        IncidentSettings,
        NodeSettings,
        OriginSettings,
        Settings,
        SiteSettings,
    )
    from edgeprobe.pipeline.retest import confirm

    settings = Settings(SiteSettings("x", "https://m"), OriginSettings("b"),
                        (NodeSettings("a", "r", host="a"),))
    settings = replace(settings, incident=IncidentSettings(retest_after_s=5,
                                                           retest_budget_s=1))
    analysis = Analysis((Finding("node_media_missing", "node", "a", "critical", "404s"),),
                        {}, {}, {}, {})
    inp = AnalysisInput("m", (), (), (), OriginFacts("b", True), (), 1000, 5, 10)
    waited: list[float] = []

    async def sleep(s: float) -> None:
        waited.append(s)

    assert asyncio.run(confirm(settings, [], [], inp, analysis, set(), sleep)) == (inp,
                                                                                  analysis)
    assert waited == []
