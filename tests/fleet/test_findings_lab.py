"""Every finding kind, produced by injecting its fault into the real lab fleet.

Each case asserts the exact set of warning/critical findings (kind, target, severity) and
that no healthy node is blamed.
"""

from __future__ import annotations

import pytest

from tests.conftest import assert_healthy_not_blamed, blamed

FREMONT = "cdn-fremont-1"

# fault → (kind, severity, node status); one node broken, five healthy peers. Faults that
# break the node's path to the bucket also give node_origin_path_broken (CANARY_CAUSES).
NODE_FAULTS = [
    ("s3_disabled", "node_media_missing", "critical", "failing"),
    ("bucket_misspelt", "node_media_missing", "critical", "failing"),
    ("access_denied", "node_media_missing", "critical", "failing"),
    ("502", "node_server_error", "critical", "failing"),
    ("catch_all", None, None, "degraded"),
    ("502_some", "node_server_error", "warning", "degraded"),
    ("stale", "node_content_mismatch", "critical", "failing"),
    ("truncated", "node_content_mismatch", "critical", "failing"),
    ("slow", "node_slow", "warning", "degraded"),
    ("down", "node_unreachable", "critical", "unreachable"),
    ("wrong_cert", "node_tls_error", "critical", "failing"),
    ("expired_cert", "node_tls_error", "critical", "failing"),
    ("cert_expiring", "node_cert_expiring", "critical", "at_risk"),  # serves right, for now
    ("no_dns", "node_dns_failure", "critical", "unreachable"),
    ("dns_servfail", "node_dns_failure", "critical", "unreachable"),
    ("dns_timeout", "node_dns_failure", "critical", "unreachable"),
    ("no_cache_headers", "node_cache_misconfigured", "warning", "degraded"),
    ("redirect_loop", "node_redirect", "critical", "failing"),
    # as a browser meets the edge (docs/analysis.md, "As a browser sees it")
    ("cors_missing", "node_cors_missing", "critical", "failing"),
    ("wrong_type", "node_content_type_wrong", "critical", "failing"),  # text/plain + nosniff
    ("no_range", "node_range_broken", "critical", "failing"),  # the lab's video, 200 whole
    ("alt_svc_h3", "node_http3_broken", "warning", "degraded"),  # nothing on UDP
]
CANARY_CAUSES = {"s3_disabled": ("not_proxying", "critical"),
                 "bucket_misspelt": ("bucket_missing", "critical"),
                 "access_denied": ("access_denied", "critical"),
                 "502": ("origin_unreachable", "critical"),
                 "catch_all": ("catch_all", "warning"),
                 "redirect_loop": ("not_proxying", "critical")}


def test_healthy_fleet_is_ok(lab):
    run = lab.probe()
    assert run["ok"] is True
    # on a busy machine the whole lab can answer slowly: that is said (fleet_slow, info,
    # the prober's load among its causes), never blamed on an edge
    assert [f for f in run["findings"] if f["kind"] != "fleet_slow"] == []
    assert {n["status"] for n in run["nodes"]} == {"healthy"}
    assert {r["status"] for r in run["regions"]} == {"healthy"}
    assert all(n["checks"] == len(lab.lab.paths) and n["failures"] == 0 for n in run["nodes"])


@pytest.mark.parametrize(("fault", "kind", "severity", "status"), NODE_FAULTS,
                         ids=[f[0] for f in NODE_FAULTS])
def test_one_broken_node(lab, fault, kind, severity, status):
    lab.fault(FREMONT, fault)
    run = lab.probe(probe="timeout_s = 20.0")
    expected = {(kind, FREMONT, severity)} if kind else set()
    cause = CANARY_CAUSES.get(fault)
    if cause:
        expected.add(("node_origin_path_broken", FREMONT, cause[1]))
    found = blamed(run)
    if fault == "502_some":  # every fourth request: a canary key may be one of them
        found.discard(("node_origin_path_broken", FREMONT, "warning"))
    assert found == expected
    canary = next(n for n in run["nodes"] if n["name"] == FREMONT).get("canary",
                                                                         {"verdict": None})
    if cause:
        assert canary["verdict"] == cause[0]
        (broken,) = [f for f in run["findings"] if f["kind"] == "node_origin_path_broken"]
        assert broken["evidence"]["cause"] == cause[0]
        assert broken["evidence"]["explains"] == ([kind] if kind else [])
    elif fault not in ("down", "no_dns", "dns_servfail", "dns_timeout", "wrong_cert",
                       "expired_cert", "502_some"):
        assert canary["verdict"] == "ok"  # a node broken otherwise still reaches the bucket
    assert run["ok"] is False
    node = next(n for n in run["nodes"] if n["name"] == FREMONT)
    assert node["status"] == status
    region = next(r for r in run["regions"] if r["name"] == "us-west")
    # cdn-seattle-1 still serves us-west; an edge at risk serves it too, for now
    assert region["status"] == ("at_risk" if status == "at_risk" else "degraded")
    assert_healthy_not_blamed(run, {FREMONT})


def test_fremont_incident_evidence(lab):
    """The December 2022 case: the finding says what a responder needs, with a curl."""
    lab.fault(FREMONT, "bucket_misspelt")
    run = lab.probe()
    (finding,) = [f for f in run["findings"] if f["kind"] == "node_media_missing"]
    n = len(lab.lab.paths)
    assert finding["summary"] == (f"{FREMONT} answered 404 for {n} of {n} objects that exist "
                                  "in the bucket and that 5 other nodes serve — cause: bucket "
                                  "name wrong (NoSuchBucket) (see node_origin_path_broken)")
    (cause,) = [f for f in run["findings"] if f["kind"] == "node_origin_path_broken"]
    assert cause["summary"] == (f"{FREMONT}: its path to the bucket is broken — its bucket name "
                                "is wrong: the store answers NoSuchBucket")
    answer = cause["evidence"]["answers"][0]
    assert answer["path"].startswith("/system/edgeprobe-canary/")
    assert (answer["status_code"], answer["code"]) == (404, "NoSuchBucket")
    assert answer["path"] in answer["curl"] and " -sS -D - " in answer["curl"]  # GET, body shown
    ev = finding["evidence"]
    assert ev["status_codes"] == {"404": n}
    assert ev["reference"] == ["bucket"]
    example = ev["examples"][0]
    assert "NoSuchBucket" in example["body_excerpt"]
    address = lab.lab.addresses[FREMONT]
    assert example["address"] == address
    port = lab.lab.ports[FREMONT]
    assert example["curl"].startswith(f"curl --connect-to media.lab.test:{port}:{address}:{port}"
                                      " https://media.lab.test:")
    obj = run["objects"][0]["results"][FREMONT]
    assert (obj["status_code"], obj["verdict"]) == (404, "missing")


def test_flaky_502_counts(lab):
    lab.fault(FREMONT, "502_some")
    run = lab.probe()
    (finding,) = [f for f in run["findings"] if f["kind"] == "node_server_error"]
    assert 3 <= finding["evidence"]["failed"] <= 4  # every fourth request, 13 objects
    assert finding["evidence"]["status_codes"] == {"502": finding["evidence"]["failed"]}


def test_tls_evidence_names_the_problem(lab):
    lab.fault(FREMONT, "expired_cert")
    run = lab.probe()
    (finding,) = [f for f in run["findings"] if f["target"] == FREMONT]
    assert "expired" in finding["evidence"]["examples"][0]["error"]
    lab.fault(FREMONT, "wrong_cert")
    run = lab.probe()
    (finding,) = [f for f in run["findings"] if f["target"] == FREMONT]
    assert "media.lab.test" in finding["evidence"]["examples"][0]["error"]


def test_dns_failure_evidence(lab):
    lab.fault(FREMONT, "no_dns")
    run = lab.probe()
    (finding,) = [f for f in run["findings"] if f["target"] == FREMONT]
    assert finding["evidence"]["error_kind"] == "nxdomain"
    assert finding["evidence"]["host"] == f"{FREMONT}.lab.test"
    node = next(n for n in run["nodes"] if n["name"] == FREMONT)
    assert node["checks"] == 0 and "NXDOMAIN" in node["error"]


def test_region_down(lab):
    lab.fault("cdn-fremont-1", "s3_disabled")
    lab.fault("cdn-seattle-1", "502")
    run = lab.probe()
    assert blamed(run) == {
        ("node_media_missing", "cdn-fremont-1", "critical"),
        ("node_origin_path_broken", "cdn-fremont-1", "critical"),
        ("node_server_error", "cdn-seattle-1", "critical"),
        ("node_origin_path_broken", "cdn-seattle-1", "critical"),
        ("region_degraded", "us-west", "critical"),
    }
    region = next(r for r in run["regions"] if r["name"] == "us-west")
    assert region["status"] == "failing"
    assert_healthy_not_blamed(run, {"cdn-fremont-1", "cdn-seattle-1"})


def test_fleet_wide_failure_blames_no_single_node(lab):
    for node in lab.lab.edges:
        lab.fault(node, "bucket_misspelt")
    run = lab.probe()
    assert blamed(run) == {("fleet_wide_failure", "fleet", "critical"),
                           ("fleet_origin_path_broken", "fleet", "critical")}
    assert {n["status"] for n in run["nodes"]} == {"failing"}
    assert not [f for f in run["findings"] if f["scope"] in ("node", "region")]
    fleet = next(f for f in run["findings"] if f["kind"] == "fleet_wide_failure")
    assert fleet["evidence"]["cause"] == "bucket_missing"
    canary = next(f for f in run["findings"] if f["kind"] == "fleet_origin_path_broken")
    assert canary["evidence"]["explains"] == ["fleet_wide_failure"]
    assert fleet["summary"].endswith("— cause: bucket name wrong (NoSuchBucket) (see "
                                     "fleet_origin_path_broken)")


def test_object_deleted_after_sampling_is_not_blamed_on_edges(lab):
    key = lab.lab.options.objects[2].key
    lab.delete(key)
    run = lab.probe()
    assert blamed(run) == {("origin_object_missing", f"/system/{key}", "warning")}
    assert_healthy_not_blamed(run, set())
    obj = next(o for o in run["objects"] if o["key"] == key)
    assert obj["origin"]["exists"] is False
    assert {r["verdict"] for r in obj["results"].values()} == {"gone"}


def test_object_deleted_but_still_cached_at_the_edges(lab):
    lab.probe()  # warm caches
    key = lab.lab.options.objects[2].key
    lab.delete(key)
    run = lab.probe()
    assert blamed(run) == {("origin_object_missing", f"/system/{key}", "warning")}
    obj = next(o for o in run["objects"] if o["key"] == key)
    assert {r["verdict"] for r in obj["results"].values()} == {"cached"}
    assert_healthy_not_blamed(run, set())
    (finding,) = [f for f in run["findings"] if f["kind"] == "origin_object_missing"]
    assert finding["summary"] == (f"{key} was deleted from the bucket; still served from cache "
                                  "by 6 edges (until their cache expires: proxy_cache_valid); "
                                  "not blamed")


@pytest.mark.parametrize(("origin", "error_kind"), [("unreachable", "unreachable"),
                                                    ("no_such_bucket", "no_such_bucket")])
def test_origin_unavailable_falls_back_to_consensus(lab, origin, error_kind):
    lab.fault(FREMONT, "s3_disabled")
    run = lab.probe(origin=origin)
    bucket = run["origin"]["bucket"]
    assert blamed(run) == {("origin_unavailable", bucket, "warning"),
                           ("node_media_missing", FREMONT, "critical"),
                           ("node_origin_path_broken", FREMONT, "critical")}
    origin_finding = next(f for f in run["findings"] if f["kind"] == "origin_unavailable")
    assert origin_finding["evidence"]["error_kind"] == error_kind
    missing = next(f for f in run["findings"] if f["kind"] == "node_media_missing")
    assert missing["evidence"]["reference"] == ["consensus"]
    assert_healthy_not_blamed(run, {FREMONT})


def test_origin_unavailable_healthy_fleet_blames_no_node(lab):
    run = lab.probe(origin="unreachable")
    assert {f[0] for f in blamed(run)} == {"origin_unavailable"}
    assert_healthy_not_blamed(run, set())


def test_probe_one_node_is_judged_against_the_bucket(lab):
    lab.fault(FREMONT, "s3_disabled")
    run = lab.probe(node=FREMONT)
    assert [n["name"] for n in run["nodes"]] == [FREMONT]
    assert blamed(run) == {("node_media_missing", FREMONT, "critical"),
                           ("node_origin_path_broken", FREMONT, "critical")}
    assert run["scope"] == {"kind": "node", "name": FREMONT}


def test_probe_region(lab):
    lab.fault(FREMONT, "s3_disabled")
    run = lab.probe(region="eu-central")
    assert {n["name"] for n in run["nodes"]} == {"cdn-frankfurt-1", "cdn-amsterdam-1"}
    assert run["ok"] is True


@pytest.mark.parametrize(("fault", "cause"), [("bucket_misspelt_host", "bucket_missing"),
                                               ("origin_down", "origin_unreachable")])
def test_a_warm_cache_cannot_hide_a_broken_origin_path_from_the_canary(lab, fault, cause):
    """Every sampled object cached: the edge serves them all (200, HIT) while its path to
    the bucket is broken; the canary names the cause and says the cache is hiding it."""
    lab.probe()  # warms every edge's cache
    lab.fault(FREMONT, fault)
    run = lab.probe()
    assert {o["results"][FREMONT]["cache"] for o in run["objects"]} == {"HIT"}
    assert blamed(run) == {("node_origin_path_broken", FREMONT, "critical")}
    assert_healthy_not_blamed(run, {FREMONT})
    (finding,) = [f for f in run["findings"] if f["kind"] == "node_origin_path_broken"]
    n = len(lab.lab.paths)
    assert finding["evidence"]["cause"] == cause
    assert finding["evidence"]["cache"] == {"served": n, "of": n, "cache_hits": n,
                                            "max_age_s": None, "cache_valid_h": 48.0}
    assert f"its cache is hiding it: {n} of {n} sampled objects were still served ({n} cache " \
        "hits), for at most 48 h after each was cached (proxy_cache_valid)" in finding["summary"]
    node = next(x for x in run["nodes"] if x["name"] == FREMONT)
    assert node["cache"]["hits"] == n and node["cache_hit_share"] == 1.0


def test_a_query_string_does_not_bypass_the_lab_edges_cache(lab):
    """Like nginx with Mastodon's proxy_pass $s3_backend$uri (test_nginx_edge.py shows it on
    nginx): the cache key has no query, so ?anything is a HIT on a warm edge."""
    lab.probe()
    path = lab.lab.paths[0]
    probe = lab.probe(samples=f'paths = ["{path}?edgeprobe=1"]')
    assert {r["cache"] for r in probe["objects"][0]["results"].values()} == {"HIT"}


def test_a_wrong_url_prefix_is_a_clear_error_not_a_fleet_wide_failure(lab):
    """Mastodon's documented proxy serves keys at the media host's root: probing them under
    the default /system/ used to report a healthy fleet as a critical fleet-wide failure."""
    from tests.conftest import edgeprobe

    for node in lab.lab.edges:
        lab.fault(node, "root_layout")
    path = lab.probe_file(samples='bucket_prefixes = ["accounts/"]\nper_prefix = 2')
    proc = edgeprobe("probe", "all", "-c", str(path))
    assert proc.returncode == 2
    assert proc.stderr.startswith("edgeprobe: error: every node answers 404 under [origin] "
                                  "url_prefix '/system/', but cdn-fremont-1 serves the bucket's "
                                  "objects under '/' (200 and the bucket's ")
    assert proc.stderr.endswith(f"set url_prefix = '/' in {path}\n")
    text = path.read_text().replace('url_prefix = "/system/"', 'url_prefix = "/"')
    path.write_text(text)
    proc = edgeprobe("probe", "all", "-c", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_verify_tls_off_is_said_everywhere_and_what_it_hides_is_recorded(lab, tmp_path):
    """Before: an edge with a certificate for another name came out HEALTHY, unmentioned."""
    from edgeprobe.result.files import run_json
    from tests.conftest import render

    lab.fault(FREMONT, "wrong_cert")
    run = lab.probe(probe="timeout_s = 20.0", extra="")
    assert blamed(run) == {("node_tls_error", FREMONT, "critical")}  # on: a finding
    text = lab.probe_file().read_text().replace("[site]\n", "[site]\nverify_tls = false\n")
    path = tmp_path / "off.toml"
    path.write_text(text)
    from edgeprobe import config, pipeline

    run = run_json(pipeline.probe(config.load(path)))
    assert blamed(run) == set()
    assert run["site"]["verify_tls"] is False
    node = next(n for n in run["nodes"] if n["name"] == FREMONT)
    assert "certificate rejected" in node["tls_verification"]
    assert all(n["tls_verification"] is None for n in run["nodes"] if n["name"] != FREMONT)
    (info,) = [f for f in run["findings"] if f["kind"] == "node_tls_unverified"]
    assert (info["target"], info["severity"]) == (FREMONT, "info")
    banner = "TLS verification is OFF ([site] verify_tls = false)"
    for fmt in ("html", "markdown", "terminal"):
        assert banner in render(fmt, run)


def test_wrong_bytes_come_with_a_command_that_shows_them(lab):
    """A HEAD cannot show a content mismatch: the evidence fetches the body and prints its
    size and MD5 beside the bucket's."""
    import shutil
    import subprocess

    lab.fault(FREMONT, "stale")
    run = lab.probe()
    (finding,) = [f for f in run["findings"] if f["target"] == FREMONT]
    example = finding["evidence"]["examples"][0]
    command = example["curl_body"]
    assert command.endswith(f" | md5sum  # expected: {example['expected_size']} bytes, md5 "
                            f"{example['expected_md5']}")
    if shutil.which("curl") and shutil.which("md5sum"):
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                             timeout=20)
        assert out.stdout.split()[0] == example["md5"] != example["expected_md5"]
        assert out.stderr.strip() == f"{example['expected_size']} bytes"  # same size, other bytes


def test_a_certificate_expiring_on_one_edge_is_named_with_its_dates(lab):
    """Hachyderm's media certificates expired edge by edge (Feb 2023): each node's own."""
    lab.fault(FREMONT, "cert_expiring")
    run = lab.probe()
    (finding,) = [f for f in run["findings"] if f["kind"] == "node_cert_expiring"]
    ev = finding["evidence"]
    assert 1.9 <= ev["days_left"] <= 2.0 and ev["san"] == "DNS:media.lab.test"
    assert finding["summary"].startswith(f"{FREMONT}'s certificate for media.lab.test expires "
                                         "in ")
    (differ,) = [f for f in run["findings"] if f["kind"] == "certificates_differ"]
    assert differ["severity"] == "info"
    groups = sorted(sorted(v["nodes"]) for v in differ["evidence"]["by_certificate"].values())
    assert groups == sorted([[FREMONT], sorted(n for n in lab.lab.edges if n != FREMONT)])
    node = next(n for n in run["nodes"] if n["name"] == FREMONT)
    assert node["certificate"]["sha256"] != next(
        n for n in run["nodes"] if n["name"] != FREMONT)["certificate"]["sha256"]
    run = lab.probe(probe="timeout_s = 20.0\ncert_warn_days = 1")  # 2 days left: still critical
    assert ("node_cert_expiring", FREMONT, "critical") in blamed(run)


def test_an_expiring_certificate_puts_the_edge_at_risk_not_out_of_service(lab):
    """Its media are served fine: the node is at_risk (not failing), no finding says its
    users get broken media, and serve's edgeprobe_node_up stays 1."""
    from prometheus_client import CollectorRegistry, generate_latest

    from edgeprobe.result.files import parse_run
    from edgeprobe.serve.metrics import RunCollector, ServerState

    lab.fault(FREMONT, "cert_expiring")
    run = lab.probe(views=not lab.lab.single_address)
    status = {n["name"]: n["status"] for n in run["nodes"]}
    assert status.pop(FREMONT) == "at_risk" and set(status.values()) == {"healthy"}
    assert blamed(run) == {("node_cert_expiring", FREMONT, "critical")}
    fremont_region = next(n["region"] for n in run["nodes"] if n["name"] == FREMONT)
    assert {r["name"]: r["status"] for r in run["regions"]}[fremont_region] == "at_risk"
    registry = CollectorRegistry()
    registry.register(RunCollector(ServerState(run=parse_run(run)), server=False))
    metrics = generate_latest(registry).decode()
    assert f'edgeprobe_node_up{{node="{FREMONT}",region="{fremont_region}"}} 1.0' in metrics
    assert f'edgeprobe_node_status{{edgeprobe_node_status="at_risk",node="{FREMONT}"' in metrics


@pytest.mark.lab
def test_a_broken_ipv6_address_is_named_not_hidden_behind_ipv4(tmp_path):
    """Every address is a target: a node with A and AAAA is probed on both, and an AAAA
    that fails while the A works is named with its address and its users."""
    from edgeprobe import config, pipeline
    from edgeprobe.lab.fleet import LabOptions
    from edgeprobe.lab.thread import running_lab
    from edgeprobe.result.files import run_json

    with running_lab(LabOptions(dual_stack=(FREMONT,))) as thread:
        lab = thread.lab
        if f"{FREMONT}@::1" not in lab.edges:
            pytest.skip("this machine has no IPv6 loopback (::1)")
        thread.call(lab.set_faults(f"{FREMONT}@::1", "s3_disabled"))
        run = run_json(pipeline.probe(config.load(lab.write_probe())))
    v4, v6 = f"{FREMONT}@{lab.addresses[FREMONT]}", f"{FREMONT}@::1"
    assert blamed(run) == {("node_media_missing", v6, "critical"),
                           ("node_origin_path_broken", v6, "critical")}
    (finding,) = [f for f in run["findings"] if f["target"] == v6
                  and f["kind"] == "node_media_missing"]
    assert finding["summary"].startswith(f"{FREMONT} on its IPv6 address ::1 only (IPv6 users "
                                         f"affected): {v6} answered 404 for 13 of 13 objects")
    assert finding["evidence"]["fine_on"] == [lab.addresses[FREMONT]]
    status = {n["name"]: n["status"] for n in run["nodes"]}
    assert status[v4] == "healthy" and status[v6] == "failing"
    assert {n["addresses"][0] for n in run["nodes"] if n["name"] in (v4, v6)} == {
        lab.addresses[FREMONT], "::1"}
    assert_healthy_not_blamed(run, {v6})


def test_an_edge_that_never_caches_is_named_after_three_runs(lab, tmp_path):
    """One cold run proves nothing (a new object is a miss everywhere): the warning needs
    three runs in a row without a hit while peers hit, counted in the state file. The lab's
    fault is the real thing: no proxy_cache, so no cache header at all (0.2 only caught an
    edge that said MISS)."""
    from edgeprobe import config, pipeline
    from edgeprobe.result.files import run_json

    lab.fault(FREMONT, "never_caches")
    settings = config.load(lab.probe_file())
    state = tmp_path / "state.json"

    def run() -> dict:
        return run_json(pipeline.probe(settings, state=state))

    streaks = []
    for _ in range(4):  # the first run is cold everywhere: it does not count
        result = run()
        node = next(n for n in result["nodes"] if n["name"] == FREMONT)
        streaks.append(node["cache"]["no_hit_runs"])
        assert node["cache"]["hits"] == node["cache"]["misses"] == 0
        assert node["cache"]["unknown"] == len(lab.lab.paths)
    assert streaks == [0, 1, 2, 3]
    assert blamed(result) == {("node_never_caches", FREMONT, "warning")}
    assert_healthy_not_blamed(result, {FREMONT})
    (finding,) = [f for f in result["findings"] if f["kind"] == "node_never_caches"]
    assert finding["summary"].startswith(f"{FREMONT} has not answered from its cache for 3 runs "
                                         "in a row (its 200s said nothing of a cache")
    assert all(n["cache"]["no_hit_runs"] == 0 for n in result["nodes"] if n["name"] != FREMONT)
    lab.fault(FREMONT)  # caching again: the next run hits nothing yet, the one after does
    run()
    result = run()
    assert next(n for n in result["nodes"] if n["name"] == FREMONT)["cache"]["no_hit_runs"] == 0
    assert blamed(result) == set()


def test_a_bucket_that_cannot_be_listed_is_a_finding_not_nothing_to_probe(lab):
    """bucket_prefixes sampling while the bucket is down: origin_unavailable (exit 1), and
    the edges are still probed — by the canary, and on whatever else the file samples (0.2:
    "nothing to probe", exit 2, no edge probed)."""
    run = lab.probe(origin="unreachable", samples='bucket_prefixes = ["accounts/"]')
    assert run["ok"] is False and run["counts"]["objects"] == 0
    kinds = {(f["kind"], f["severity"]) for f in run["findings"]}
    assert ("origin_unavailable", "warning") in kinds and ("samples_unavailable", "info") in kinds
    assert blamed(run) == {("origin_unavailable", run["origin"]["bucket"], "warning")}
    assert {n["canary"]["verdict"] for n in run["nodes"]} == {"ok"}  # each edge was asked
    lab.fault(FREMONT, "s3_disabled")  # and a broken edge is still named
    run = lab.probe(origin="unreachable", samples='bucket_prefixes = ["accounts/"]')
    assert ("node_origin_path_broken", FREMONT, "critical") in blamed(run)
    assert_healthy_not_blamed(run, {FREMONT})


def test_the_healthy_lab_passes_every_browser_check(lab):
    """Each node: CORS judged ok, its video's Range ok, HTTP/2 not offered (the lab's edges
    speak HTTP/1.1; real nginx speaks h2: tests/fleet/test_browser_nginx.py)."""
    run = lab.probe()
    for node in run["nodes"]:
        assert node["browser"]["cors"] == "ok" and node["browser"]["range"] == "ok", node
        assert node["browser"]["protocols"]["h2"] in ("not offered", "not tested"), node


def test_deleted_media_still_served_by_one_edge(lab):
    """The bucket loses an object (deleted, moderated); one edge has it cached and keeps
    serving it, the others 404: that edge is named, with how long its cache may keep it."""
    gone = next(o for o in lab.lab.options.objects if o.key.endswith(".png"))
    lab.probe(node=FREMONT)  # FREMONT caches everything
    lab.delete(gone.key)
    run = lab.probe()
    found = blamed(run)
    assert ("node_serves_deleted", FREMONT, "warning") in found
    assert {f for f in found if f[0] == "node_serves_deleted"} == {
        ("node_serves_deleted", FREMONT, "warning")}
    (finding,) = [f for f in run["findings"] if f["kind"] == "node_serves_deleted"]
    assert finding["evidence"]["path"] == f"/system/{gone.key}"
    assert finding["evidence"]["cache_control"] and len(finding["evidence"]["peers_404"]) == 5
