"""The origin-path canary against real nginx with Mastodon's documented proxy config
(tests/servers/nginx.py) in front of moto's S3: each row of the canary table
(docs/analysis.md) from a real configuration mistake, warm cache and cold.

Skipped where nginx is not installed, except in CI (CI=true), where scripts/setup test
installs it and a skip would hide a broken canary.
"""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

from tests.conftest import assert_healthy_not_blamed, blamed
from tests.servers.nginx_fleet import (
    EDGES,
    FRANKFURT,
    FREMONT,
    MEDIA_HOST,
    NEWARK,
    SEATTLE,
    NginxFleet,
)


def _finding(run: dict[str, Any], kind: str, target: str) -> dict[str, Any]:
    (found,) = [f for f in run["findings"] if f["kind"] == kind and f["target"] == target]
    return found


def _node(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in run["nodes"] if n["name"] == name)


def test_the_canary_names_each_cause_on_real_nginx(fleet):
    n = len(fleet.objects)
    # 1. all healthy: caches warmed, every canary answer is the bucket's own NoSuchKey
    run = fleet.probe()
    assert [f for f in run["findings"] if f["kind"] != "fleet_slow"] == []  # a busy machine
    assert run["canary"]["reference"] == {"status_code": 404, "code": "NoSuchKey",
                                          "error": None}
    assert {_node(run, e)["canary"]["verdict"] for e in EDGES} == {"ok"}
    assert {_node(run, e)["cache"]["misses"] for e in EDGES} == {n}

    # nginx keys this config's cache on $s3_backend$uri: a query string is still a HIT
    check = run["objects"][0]["results"][SEATTLE]
    argv = shlex.split(_node_curl(fleet, SEATTLE, run["objects"][0]["path"] + "?edgeprobe=1"))
    head = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout
    assert "x-cache-status: hit" in head.lower() and check["verdict"] == "ok"  # h2: lower

    # 2. warm caches: Host-only misspelling (same cache key), the store unreachable, and
    #    object storage switched off
    fleet.edges[FREMONT].configure("host_misspelt")
    fleet.edges[NEWARK].configure("origin_down")
    fleet.edges[FRANKFURT].configure("storage_off")
    run = fleet.probe()
    assert blamed(run) == {
        ("node_origin_path_broken", FREMONT, "critical"),
        ("node_origin_path_broken", NEWARK, "critical"),
        ("node_origin_path_broken", FRANKFURT, "critical"),
        ("node_media_missing", FRANKFURT, "critical"),
    }
    assert_healthy_not_blamed(run, {FREMONT, NEWARK, FRANKFURT})
    for edge, cause in ((FREMONT, "bucket_missing"), (NEWARK, "origin_unreachable")):
        assert {o["results"][edge]["cache"] for o in run["objects"]} == {"HIT"}
        finding = _finding(run, "node_origin_path_broken", edge)
        assert finding["evidence"]["cause"] == cause
        assert f"its cache is hiding it: {n} of {n} sampled objects were still served " \
            f"({n} cache hits)" in finding["summary"]
    assert _finding(run, "node_origin_path_broken", FREMONT)["summary"].startswith(
        f"{FREMONT}: its path to the bucket is broken — its bucket name is wrong: the store "
        "answers NoSuchBucket")
    assert "it cannot reach the bucket: a missing key gets 502" in \
        _finding(run, "node_origin_path_broken", NEWARK)["summary"]
    off = _finding(run, "node_origin_path_broken", FRANKFURT)
    assert off["evidence"]["cause"] == "not_proxying"
    assert off["evidence"]["explains"] == ["node_media_missing"]
    assert "a missing key gets 404 HTML instead of the bucket's 404 NoSuchKey" in off["summary"]
    assert _finding(run, "node_media_missing", FRANKFURT)["evidence"]["see"] == \
        "node_origin_path_broken"
    # the repro curl shows the evidence: the store's XML through the edge
    answer = _finding(run, "node_origin_path_broken", FREMONT)["evidence"]["answers"][0]
    shown = subprocess.run(shlex.split(answer["curl"]), capture_output=True, text=True,
                           timeout=30).stdout
    assert shown.startswith("HTTP/2 404") and "<Code>NoSuchBucket</Code>" in shown  # h2

    # 3. cold: the bucket misspelt in $s3_backend too (a new cache key), and a catch-all
    fleet.edges[FREMONT].configure("bucket_misspelt")
    fleet.edges[NEWARK].configure("catch_all")
    fleet.edges[FRANKFURT].configure("healthy")
    run = fleet.probe()
    assert blamed(run) == {
        ("node_media_missing", FREMONT, "critical"),
        ("node_origin_path_broken", FREMONT, "critical"),
        ("node_content_mismatch", NEWARK, "critical"),
        ("node_origin_path_broken", NEWARK, "warning"),
        ("node_cache_misconfigured", NEWARK, "warning"),  # its fallback page: no Cache-Control
    }
    assert_healthy_not_blamed(run, {FREMONT, NEWARK})
    misspelt = _finding(run, "node_origin_path_broken", FREMONT)
    assert misspelt["evidence"]["cause"] == "bucket_missing"
    assert "hiding" not in misspelt["summary"]
    assert _finding(run, "node_media_missing", FREMONT)["summary"].endswith(
        "— cause: bucket name wrong (NoSuchBucket) (see node_origin_path_broken)")
    assert _finding(run, "node_origin_path_broken", NEWARK)["evidence"]["cause"] == "catch_all"
    assert _node(run, FRANKFURT)["canary"]["verdict"] == "ok"
    for edge in EDGES:
        fleet.edges[edge].configure("healthy")


def test_a_hanging_path_to_the_bucket_is_broken_not_healthy(fleet):
    """The store accepts the connection and never answers (a hung resolver or upstream):
    nginx would answer 502 only after its own 60 s. The canary's requests ride on the
    connections the sampled media used, where libcurl reports no connect time; 0.2 read that
    as "not connected", gave the canary no verdict and called the edge healthy."""
    fleet.probe()  # warm every cache
    fleet.edges[NEWARK].configure("origin_hangs")
    try:
        run = fleet.probe(timeout_s=3.0)
    finally:
        fleet.edges[NEWARK].configure("healthy")
    assert blamed(run) == {("node_origin_path_broken", NEWARK, "critical")}
    assert_healthy_not_blamed(run, {NEWARK})
    finding = _finding(run, "node_origin_path_broken", NEWARK)
    assert finding["evidence"]["cause"] == "origin_unreachable"
    assert f"{NEWARK}: its path to the bucket is broken — its path to the bucket hangs: a " \
        "missing key got no answer in 3 s" in finding["summary"]
    assert "its cache is hiding it" in finding["summary"]
    assert {a["verdict"] for a in finding["evidence"]["answers"]} == {"origin_unreachable"}


def test_an_edge_without_proxy_cache_never_caches_over_runs(fleet, tmp_path):
    """No proxy_cache line: nginx sends no X-Cache-Status at all (0.2 counted that as
    "unknown" and never named the edge); its peers say HIT on the same objects."""
    state = tmp_path / "state.json"
    fleet.probe()  # the peers' caches warm
    fleet.edges[FRANKFURT].configure("no_cache")
    try:
        for _ in range(3):
            run = fleet.probe(state=state)
    finally:
        fleet.edges[FRANKFURT].configure("healthy")
    frankfurt = _node(run, FRANKFURT)
    assert frankfurt["cache"]["hits"] == frankfurt["cache"]["misses"] == 0
    assert frankfurt["cache"]["no_hit_runs"] == 3
    assert blamed(run) == {("node_never_caches", FRANKFURT, "warning")}
    assert_healthy_not_blamed(run, {FRANKFURT})
    assert "its 200s said nothing of a cache" in _finding(run, "node_never_caches",
                                                          FRANKFURT)["summary"]


def test_an_expiring_certificate_on_a_real_nginx_edge_puts_it_at_risk(fleet):
    """Its media are served fine: at_risk, not failing; no finding about broken media
    (0.2: failing, and a region finding saying users get broken media)."""
    edge = fleet.edges[NEWARK]
    good = edge.cert_file, edge.key_file
    assert fleet.certs.expiring_files
    edge.cert_file, edge.key_file = fleet.certs.expiring_files
    edge.configure("healthy")  # a reload: the new certificate, the cache kept
    try:
        run = fleet.probe()
    finally:
        edge.cert_file, edge.key_file = good
        edge.configure("healthy")
    assert blamed(run) == {("node_cert_expiring", NEWARK, "critical")}, (
        _node(run, NEWARK).get("certificate"), [f["kind"] for f in run["findings"]])
    assert _node(run, NEWARK)["status"] == "at_risk"
    assert {_node(run, e)["status"] for e in EDGES if e != NEWARK} == {"healthy"}
    assert {r["status"] for r in run["regions"]} == {"at_risk"}


def _node_curl(fleet: NginxFleet, node: str, path: str) -> str:
    from edgeprobe.config.settings import SiteSettings
    from edgeprobe.observe.repro import curl_command

    site = SiteSettings(name="x", media_url=f"https://{MEDIA_HOST}:{fleet.port}",
                        ca_file=str(fleet.certs.ca_file))
    return curl_command(site, fleet.port, EDGES[node],
                        f"https://{MEDIA_HOST}:{fleet.port}{path}").head()
