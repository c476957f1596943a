"""Each edge as a browser meets it, against real nginx with Mastodon's documented proxy
config (``listen … ssl http2``, ``Access-Control-Allow-Origin '*'``, nosniff, the CSP, the
bucket's CORS headers hidden): each way it fails a browser, injected on one edge as a real
configuration mistake, gives exactly its finding there, with a ``curl`` that shows it, and
nothing on the other edges.
"""

from __future__ import annotations

import shlex
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import assert_healthy_not_blamed, blamed
from tests.servers.nginx_fleet import EDGES, FREMONT, MEDIA_HOST, NginxFleet
from tests.spies import followups_asked_after


@pytest.fixture(scope="module", autouse=True)
def warm(fleet: NginxFleet) -> None:
    fleet.probe()  # every cache warm, as a live fleet's are


@pytest.fixture
def broken(fleet: NginxFleet) -> Iterator[Any]:
    """Configure FREMONT in a mode; healthy again afterwards."""
    def configure(mode: str) -> None:
        fleet.edges[FREMONT].configure(mode)
    yield configure
    fleet.edges[FREMONT].configure("healthy")


def _node(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in run["nodes"] if n["name"] == name)


def _finding(run: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [f for f in run["findings"] if f["kind"] == kind]
    assert found["target"] == FREMONT
    return found


def _curl(command: str) -> str:
    """Run a finding's repro command as a responder would paste it."""
    return subprocess.run(shlex.split(command), capture_output=True, text=True,
                          timeout=30).stdout


def test_a_healthy_nginx_fleet_passes_as_a_browser_sees_it(fleet):
    run = fleet.probe()
    assert [f for f in run["findings"] if f["kind"] != "fleet_slow"] == []
    for name in EDGES:
        node = _node(run, name)
        assert node["browser"]["protocols"]["h2"] == "ok", node["browser"]
        assert node["browser"]["cors"] == "ok" and node["browser"]["range"] == "ok"
        assert node["browser"]["protocols"]["h3"] in ("not offered", "not tested")
    assert {r["protocol"] for o in run["objects"] for r in o["results"].values()} == {"h2"}


def test_cors_line_missing(fleet, broken):
    broken("cors_missing")
    run = fleet.probe()
    assert blamed(run) == {("node_cors_missing", FREMONT, "critical")}
    assert_healthy_not_blamed(run, {FREMONT})
    example = _finding(run, "node_cors_missing")["evidence"]["examples"][0]
    assert example["header"] is None and "--http2" in example["curl"]
    assert "access-control-allow-origin" not in _curl(example["curl"]).lower()
    assert _node(run, FREMONT)["browser"]["cors"] == "missing"


def test_image_served_as_text(fleet, broken):
    broken("wrong_type")
    run = fleet.probe()
    assert blamed(run) == {("node_content_type_wrong", FREMONT, "critical")}
    assert_healthy_not_blamed(run, {FREMONT})
    evidence = _finding(run, "node_content_type_wrong")["evidence"]
    assert evidence["objects"] == len(fleet.objects)
    png = next(e for e in evidence["examples"] if e["path"].endswith(".png"))
    assert (png["served"], png["expected"], png["nosniff"]) == ("text/plain", "image/png", True)
    assert "content-type: text/plain" in _curl(png["curl"]).lower()


def test_ranges_ignored(fleet, broken):
    broken("no_range")
    run = fleet.probe()
    assert blamed(run) == {("node_range_broken", FREMONT, "critical")}
    assert_healthy_not_blamed(run, {FREMONT})
    example = _finding(run, "node_range_broken")["evidence"]["examples"][0]
    assert example["status_code"] == 200 and example["path"].endswith(".mp4")
    assert "-H 'Range: bytes=0-1'" in example["curl"]
    assert _curl(example["curl"]).startswith("HTTP/2 200")
    assert _node(run, FREMONT)["browser"]["range"] == "broken"


def test_fails_only_over_http2(fleet, broken):
    broken("h2_broken")
    run = fleet.probe()
    found = blamed(run)
    # what a browser sees (every object 502, so the canary too) and why: HTTP/2 alone
    assert ("node_http2_broken", FREMONT, "critical") in found
    assert {f[1] for f in found} == {FREMONT}
    assert_healthy_not_blamed(run, {FREMONT})
    evidence = _finding(run, "node_http2_broken")["evidence"]
    assert evidence["h2"]["status_code"] == 502 and evidence["http/1.1"]["status_code"] == 200
    assert _curl(evidence["http/1.1"]["curl"]).startswith("HTTP/1.1 200")
    assert _curl(evidence["h2"]["curl"]).startswith("HTTP/2 502")
    assert _node(run, FREMONT)["browser"]["protocols"]["h2"] == "broken"


def test_http3_advertised_and_not_there(fleet, broken):
    from edgeprobe.observe.transfer import HAS_HTTP3

    broken("alt_svc_h3")
    run = fleet.probe()
    if not HAS_HTTP3:
        assert _node(run, FREMONT)["browser"]["protocols"]["h3"] == "not tested"
        return
    assert blamed(run) == {("node_http3_broken", FREMONT, "warning")}
    assert_healthy_not_blamed(run, {FREMONT})
    assert "--http3-only" in _finding(run, "node_http3_broken")["evidence"]["h3"]["curl"]


def test_deleted_media_still_served_from_one_cache(fleet):
    """An object uploaded and asked through FREMONT only (so only its cache has it), then
    deleted from the bucket: FREMONT keeps serving it, the others 404."""
    from edgeprobe.lab.content import LabObject

    gone = LabObject("media_attachments/files/000/000/777/original/deleted.png", 9_000)
    fleet.s3.put(gone)
    ctx = ssl.create_default_context(cafile=str(fleet.certs.ca_file))
    request = urllib.request.Request(f"https://{EDGES[FREMONT]}:{fleet.port}/{gone.key}",
                                     headers={"Host": MEDIA_HOST})
    ctx.check_hostname = False  # the address, not the name: the certificate is checked below
    with urllib.request.urlopen(request, context=ctx, timeout=10) as answer:
        assert answer.status == 200
    fleet.s3.delete(gone.key)
    fleet.objects = (*fleet.objects, gone)
    try:
        run = fleet.probe()
    finally:
        fleet.objects = fleet.objects[:-1]
    assert blamed(run) == {("node_serves_deleted", FREMONT, "warning"),
                           ("origin_object_missing", f"/{gone.key}", "warning")}
    evidence = _finding(run, "node_serves_deleted")["evidence"]
    assert evidence["cache_control"] == "max-age=31536000, public"  # expires 1y + public
    assert len(evidence["peers_404"]) == len(EDGES) - 1


def test_a_healthy_fleet_gives_no_browser_finding_in_20_runs(fleet):
    """The browser checks never cry wolf: twenty runs of the healthy fleet, warm caches,
    not one of their findings (nor any other that blames)."""
    kinds = {"node_http2_broken", "node_http3_broken", "node_cors_missing",
             "fleet_cors_missing", "node_content_type_wrong", "origin_content_type_wrong",
             "node_range_broken", "node_serves_deleted"}
    for i in range(20):
        run = fleet.probe()
        assert not [f for f in run["findings"] if f["kind"] in kinds or
                    f["severity"] != "info"], (i, run["findings"])
        assert {_node(run, n)["browser"]["cors"] for n in EDGES} == {"ok"}


def test_each_nodes_browser_checks_follow_its_gets_on_its_warm_connection(fleet, monkeypatch):
    """The fetch asks each node's browser checks itself, planned from that node's answers:
    exactly the checks a plan of the whole fleet makes, the HTTP/2 ones on the connection
    its GETs used (no new connect), so the stage after the fetch asks nothing; asked after
    the fetch instead, every check connects anew."""
    import asyncio

    from edgeprobe import config
    from edgeprobe.observe import fetch, followup
    from edgeprobe.observe.observations import HTTP2, SampleObject
    from edgeprobe.observe.resolve import resolve_all
    from edgeprobe.observe.targets import node_targets

    settings = config.load(fleet.probe_file())
    objects = [SampleObject(f"/{o.key}", o.key, "paths") for o in fleet.objects]
    planner = followup.planner(settings, objects)
    asked_after = followups_asked_after(monkeypatch)

    async def go():  # type: ignore[no-untyped-def]
        targets = node_targets(settings, await resolve_all(settings.dns, settings.nodes))
        fetched, asked = await fetch.fetch_each(
            settings.site, settings.probe, targets, objects,
            then=followup.follow_on(settings, targets, objects, len(objects) * len(targets)))
        browser, _ = await followup.browser_checks(settings, targets, objects, fetched, True,
                                                   asked)
        later = list(asked_after)  # what the stage after the fetch asked
        afresh = await fetch.fetch_followups(settings.site, settings.probe,
                                             planner.plan_all(targets, fetched),
                                             settings.web_origin)
        return targets, fetched, asked, browser, later, afresh

    targets, fetched, asked, browser, later, afresh = asyncio.run(go())
    plan = planner.plan_all(targets, fetched)
    key = [(f.target.node, f.obj.path, f.variant) for f in plan]
    assert plan and [(f.node, f.path, f.variant) for f in browser] == key
    assert sorted((f.node, f.path, f.variant) for f in asked) == sorted(key)
    assert browser == [next(a for a in asked if (a.node, a.path, a.variant) == k) for k in key]
    assert later == []
    assert {f.node for f in asked if f.variant == HTTP2} == set(EDGES)
    assert all(f.timing.connect_ms is None for f in asked if f.variant == HTTP2)
    assert all(f.timing.connect_ms is not None for f in afresh)
