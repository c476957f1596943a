"""The canary's judgement, table-driven (pure analysis; test_nginx_edge.py shows each row
against real nginx): one answer for a key that cannot exist → ok, a cause, or nothing."""

from __future__ import annotations

import pytest

from edgeprobe.analyze.origin_path import canary_findings, classify, judge, s3_error_code
from edgeprobe.observe.observations import CanaryReference, FetchResult, Timing
from edgeprobe.observe.repro import Curl

NO_SUCH_KEY = CanaryReference(404, "NoSuchKey")
DENIED = CanaryReference(403, "AccessDenied")


def xml(code: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code></Error>'


def answer(status: int | None, body: str | None = None, error_kind: str | None = None,
           connected: bool = True, node: str = "a") -> FetchResult:
    return FetchResult(node, "/system/edgeprobe-canary/0123456789abcdef.png", "https://m/x",
                       "127.0.0.1", status_code=status, body_excerpt=body,
                       error_kind=error_kind, error=error_kind,
                       timing=Timing(connect_ms=1.0 if connected else None),
                       curl=Curl(("curl", "--connect-to", "m:443:127.0.0.1:443", "https://m/x",
                                  "-sSI", "--http1.1")))


CASES = [
    # (the node's answer, the bucket's own answer, verdict)
    (answer(404, xml("NoSuchKey")), NO_SUCH_KEY, "ok"),
    (answer(403, xml("AccessDenied")), DENIED, "ok"),
    (answer(404, xml("NoSuchKey")), DENIED, "ok"),  # the edge's store may list: still works
    (answer(403, xml("AccessDenied")), None, "ok"),  # bucket not asked: either is fine
    (answer(404, xml("NoSuchBucket")), NO_SUCH_KEY, "bucket_missing"),
    (answer(403, xml("AccessDenied")), NO_SUCH_KEY, "access_denied"),
    (answer(400, xml("InvalidBucketName")), NO_SUCH_KEY, "origin_error"),
    (answer(404, "<html><body>404 Not Found</body></html>"), NO_SUCH_KEY, "not_proxying"),
    (answer(404, '{"error":"Record not found"}'), NO_SUCH_KEY, "not_proxying"),  # the app
    (answer(302), NO_SUCH_KEY, "not_proxying"),
    (answer(502, "<html>502 Bad Gateway</html>"), NO_SUCH_KEY, "origin_unreachable"),
    (answer(504), NO_SUCH_KEY, "origin_unreachable"),
    (answer(None, error_kind="timeout"), NO_SUCH_KEY, "origin_unreachable"),  # connected
    # on a reused connection libcurl's connect time is 0: a timeout is still "connected, no
    # answer" (0.2 called it "not connected", and a hanging bucket path healthy)
    (answer(None, error_kind="timeout", connected=False), NO_SUCH_KEY, "origin_unreachable"),
    (answer(200, "<!doctype html>"), NO_SUCH_KEY, "catch_all"),
    # no answer from the node itself: node_unreachable and its kin say that, not the canary
    (answer(None, error_kind="unreachable", connected=False), NO_SUCH_KEY, None),
    (answer(None, error_kind="tls_error"), NO_SUCH_KEY, None),
]


@pytest.mark.parametrize(("fetch", "ref", "verdict"), CASES)
def test_each_answer_has_its_verdict(fetch, ref, verdict):
    assert classify(fetch, ref) == verdict


def test_s3_error_code_reads_only_xml_errors():
    assert s3_error_code(xml("NoSuchBucket")) == "NoSuchBucket"
    assert s3_error_code("<Error><Code>AccessDenied</Code>") == "AccessDenied"
    assert s3_error_code("<html><Code>NoSuchKey</Code></html>") is None  # not the store's
    assert s3_error_code(None) is None and s3_error_code("") is None


def test_a_node_is_judged_by_its_broken_answers_and_severity_by_their_share():
    both = judge([answer(404, xml("NoSuchBucket")), answer(404, xml("NoSuchBucket"))],
                 NO_SUCH_KEY)
    one = judge([answer(404, xml("NoSuchKey")), answer(502)], NO_SUCH_KEY)
    healthy = judge([answer(404, xml("NoSuchKey"))] * 2, NO_SUCH_KEY)
    gone = judge([answer(None, error_kind="unreachable", connected=False)], NO_SUCH_KEY)
    assert (both.verdict, one.verdict, healthy.verdict, gone.verdict) == (
        "bucket_missing", "origin_unreachable", "ok", None)
    assert both.answers[0]["curl"] == ("curl --connect-to m:443:127.0.0.1:443 https://m/x "
                                       "-sS -D - --http1.1")  # a GET that shows the body
    found = canary_findings({"a": both, "b": one, "c": healthy, "d": gone}, NO_SUCH_KEY, {},
                            [], 48.0)
    assert {(f.kind, f.target, f.severity) for f in found} == {
        ("node_origin_path_broken", "a", "critical"),
        ("node_origin_path_broken", "b", "warning")}
    catch_all = judge([answer(200)] * 2, NO_SUCH_KEY)
    (finding,) = canary_findings({"a": catch_all, "c": healthy}, NO_SUCH_KEY, {}, [], 48.0)
    assert (finding.severity, finding.evidence["cause"]) == ("warning", "catch_all")


def test_the_same_cause_on_every_node_is_one_fleet_finding_but_not_on_a_partial_run():
    broken = judge([answer(404, xml("NoSuchBucket"))], NO_SUCH_KEY)
    nodes = {"a": broken, "b": broken, "c": broken}
    (fleet,) = canary_findings(nodes, NO_SUCH_KEY, {}, [], 48.0)
    assert (fleet.kind, fleet.target, fleet.evidence["nodes"]) == (
        "fleet_origin_path_broken", "fleet", ["a", "b", "c"])
    assert fleet.summary.startswith("every node (3): the path to the bucket is broken — the "
                                    "bucket name is wrong")
    assert fleet.evidence["explains"] == []  # no failure findings given: nothing explained
    partial = canary_findings(nodes, NO_SUCH_KEY, {}, [], 48.0, whole_fleet=False)
    assert {f.target for f in partial} == {"a", "b", "c"}
