"""The browser judgements, pure: Content-Type against the bucket and the bytes, CORS across
the fleet, Range answers (the lab and real nginx drive the same code end to end)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edgeprobe.analyze.browser import cors_findings, range_findings
from edgeprobe.analyze.content import content_type_findings
from edgeprobe.analyze.types import Check, Reference
from edgeprobe.observe.observations import RANGE, FetchResult

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
PATH = "/system/media_attachments/files/1/original/a.png"


def _check(node: str, ctype: str | None, nosniff: bool = True, first: bytes = PNG) -> Check:
    headers = {"Access-Control-Allow-Origin": "*"}
    if ctype:
        headers["Content-Type"] = ctype
    if nosniff:
        headers["X-Content-Type-Options"] = "nosniff"
    return Check(FetchResult(node, PATH, "https://m" + PATH, "127.0.0.1", status_code=200,
                             size=100, md5="m", headers=headers, first_bytes=first), "ok", True)


def _kinds(findings) -> set[tuple[str, str, str]]:
    return {(f.kind, f.target, f.severity) for f in findings}


def test_an_image_as_text_with_nosniff_is_critical_and_only_on_that_node():
    checks = [_check("a", "image/png"), _check("b", "image/png"), _check("c", "text/plain")]
    found = content_type_findings({PATH: checks}, {}, "/system/")
    assert _kinds(found) == {("node_content_type_wrong", "c", "critical")}
    (f,) = found
    assert f.evidence["examples"][0]["expected"] == "image/png"


def test_another_image_type_or_no_nosniff_is_a_warning():
    checks = [_check("a", "image/png"), _check("b", "image/png"),
              _check("c", "image/jpeg"), _check("d", "text/plain", nosniff=False)]
    found = content_type_findings({PATH: checks}, {}, "/system/")
    assert _kinds(found) == {("node_content_type_wrong", "c", "warning"),
                             ("node_content_type_wrong", "d", "warning")}


def test_a_bucket_type_the_bytes_contradict_is_the_bucket_s_and_blames_no_node():
    checks = [_check(n, "text/plain") for n in "abc"]
    found = content_type_findings({PATH: checks},
                                  {"media_attachments/files/1/original/a.png": "text/plain"},
                                  "/system/")
    assert _kinds(found) == {("origin_content_type_wrong", PATH, "warning")}


def test_cors_missing_on_one_node_and_on_the_whole_fleet():
    def f(node, acao):
        headers = {"Access-Control-Allow-Origin": acao} if acao else {}
        return FetchResult(node, PATH, "u", "127.0.0.1", status_code=200, headers=headers)

    found, missing = cors_findings({"a": [f("a", "*")], "b": [f("b", "https://social.test")],
                                    "c": [f("c", None)], "d": [f("d", "https://evil.test")]},
                                   "https://social.test", cross_origin=True, whole_fleet=True)
    assert _kinds(found) == {("node_cors_missing", "c", "critical"),
                             ("node_cors_missing", "d", "critical")} and missing == {"c", "d"}
    found, _ = cors_findings({n: [f(n, None)] for n in "abc"}, None, True, True)
    assert _kinds(found) == {("fleet_cors_missing", "fleet", "critical")}
    found, _ = cors_findings({n: [f(n, None)] for n in "abc"}, None, False, True)
    assert found == []  # a same-origin site: no node sends it, none has to


def test_range_answers():
    refs = {PATH: Reference(True, 600_000, "m", "bucket")}

    def answer(status, content_range=None, first=b"\x00\x00", size=2):
        headers = {"Content-Range": content_range} if content_range else {}
        return FetchResult("a", PATH, "u", "127.0.0.1", status_code=status, size=size,
                           headers=headers, first_bytes=first, variant=RANGE)

    heads = {PATH: b"\x00\x00\x00\x18ftyp"}
    ok = answer(206, "bytes 0-1/600000")
    assert range_findings("a", [ok], refs, heads, {PATH}) == ([], True)
    for bad, why in ((answer(200, size=600_000), "200 with the whole object"),
                     (answer(206, "bytes 0-1/300000"), "Content-Range"),
                     (answer(206, "bytes 0-1/600000", first=b"\xff\xff"), "other bytes")):
        found, works = range_findings("a", [bad], refs, heads, {PATH})
        assert works is False and _kinds(found) == {("node_range_broken", "a", "critical")}
        assert why in found[0].summary
    # an object the node did not serve right is not judged again; nor a 502 to the range
    assert range_findings("a", [answer(200, size=600_000)], refs, heads, set()) == ([], None)
    assert range_findings("a", [answer(502)], refs, heads, {PATH}) == ([], None)


@given(st.dictionaries(st.sampled_from([f"cdn-{i}" for i in range(12)]),
                       st.sampled_from(["image/png", "image/jpeg", "text/plain", None]),
                       max_size=12))
@settings(max_examples=300, deadline=None)
def test_each_nodes_peer_type_is_what_counting_its_peers_says(served):
    """The peer type of each node (content.py, per object) is computed from each type's
    positions: the same as counting the other nodes' types, ties included."""
    from collections import Counter

    from edgeprobe.analyze.content import _with_peer_type

    naive = []
    for node, got in served.items():
        peers = Counter(t for n, t in served.items() if n != node).most_common(1)
        naive.append((node, got, peers[0][0] if peers else None))
    assert _with_peer_type(served) == naive
