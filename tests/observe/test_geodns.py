"""Who is affected, from GeoDNS: the lab fleet behind a real gdnsd (geoip plugin, inline
nets, answering by EDNS Client Subnet) on loopback. Every view finding, injected.

Skipped where gdnsd is not installed, except in CI (CI=true), where scripts/setup test
installs it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_healthy_not_blamed, blamed, render
from tests.needs import need
from tests.servers.gdnsd import Gdnsd, gdnsd_binary

FREMONT, SEATTLE = "cdn-fremont-1", "cdn-seattle-1"


@pytest.fixture(autouse=True)
def _needs_gdnsd(lab):
    need(gdnsd_binary(), "gdnsd", "Debian: apt-get install gdnsd")
    if lab.lab.single_address:
        pytest.skip("views need one loopback address per edge (127.0.1.N)")


@contextmanager
def gdnsd(lab, **options: Any) -> Iterator[Gdnsd]:
    """A gdnsd for the lab: each view gets its region's nodes, or ``views`` as given."""
    views = options.pop("views", None) or {
        name: (subnets, addrs) for name, (subnets, addrs) in lab.lab.view_answers().items()}
    root = Path(tempfile.mkdtemp(prefix="edgeprobe-gdnsd-"))
    server = Gdnsd(root, views, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def probe(lab, server: Gdnsd | None, **toml: Any) -> dict[str, Any]:
    where = f"127.0.0.1:{server.port}" if server else None
    return lab.probe(views=True, authoritative=where, **toml)


def finding(run: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [f for f in run["findings"] if f["kind"] == kind]
    return found


def test_users_of_the_view_that_gets_the_broken_edge_are_named_from_dns(lab):
    lab.fault(FREMONT, "s3_disabled")
    with gdnsd(lab) as server:
        run = probe(lab, server)
    assert ("region_routed_to_failing_node", "us-west", "critical") in blamed(run)
    routed = [f for f in run["findings"] if f["kind"] == "region_routed_to_failing_node"]
    assert [f["target"] for f in routed] == ["us-west"]  # us-east, eu-central: healthy
    assert routed[0]["summary"] == ("users in us-west (198.51.100.0/24, 2001:db8:100::/56) are "
                                    f"sent to {FREMONT}, which is failing; also to {SEATTLE} "
                                    "(healthy)")
    assert_healthy_not_blamed(run, {FREMONT})
    west = next(v for v in run["views"] if v["name"] == "us-west")
    assert west["status"] == "failing"
    assert [(n["node"], n["status"]) for n in west["nodes"]] == [(FREMONT, "failing"),
                                                                (SEATTLE, "healthy")]
    assert {a["scope"] for a in west["answers"] if a["type"] == "A"} == {24, 56}
    assert all(a["server"] == f"127.0.0.1:{server.port}" for a in west["answers"])
    page = render("html", run)
    # the table leads the page, and Affected comes from DNS, not the region labels
    assert page.index('id="who"') < page.index('id="findings"')
    assert (f"users in us-west (198.51.100.0/24, 2001:db8:100::/56) get {FREMONT} (failing), "
            f"{SEATTLE} (healthy)") in page
    assert "users routed to us-west" not in page
    md = render("markdown", run)
    assert md.index("### Who gets which edge") < md.index("### Findings")
    assert f"| us-west | 198.51.100.0/24, 2001:db8:100::/56 | {FREMONT} (failing)" \
        in md.replace("\\-", "-")
    assert "users in us-west (198.51.100.0/24, 2001:db8:100::/56) get:" in \
        render("terminal", run, width=80)


def test_an_address_dns_hands_out_but_nobody_listed_is_probed_and_named(lab):
    with gdnsd(lab) as server:
        run = probe(lab, server, omit=(SEATTLE,))
    address = lab.lab.addresses[SEATTLE]
    assert blamed(run) == {("dns_unlisted_address", address, "warning")}
    unlisted = finding(run, "dns_unlisted_address")
    assert unlisted["summary"] == (f"DNS sends users in us-west to {address}, which no node in "
                                   "the probe file has: probed as an ad-hoc node, it is "
                                   "healthy; add it as a [[nodes]] entry")
    node = next(n for n in run["nodes"] if n["name"] == address)  # probed in the same run
    assert (node["region"], node["status"], node["checks"]) == ("us-west", "healthy",
                                                                len(lab.lab.paths))


def test_a_broken_unlisted_edge_is_probed_and_its_users_named(lab):
    lab.fault(SEATTLE, "502")
    with gdnsd(lab) as server:
        run = probe(lab, server, omit=(SEATTLE,))
    address = lab.lab.addresses[SEATTLE]
    assert {("dns_unlisted_address", address, "warning"),
            ("node_server_error", address, "critical"),
            ("region_routed_to_failing_node", "us-west", "critical")} <= blamed(run)
    assert "it is failing" in finding(run, "dns_unlisted_address")["summary"]


def test_a_listed_node_no_view_receives_is_an_info(lab):
    views = lab.lab.view_answers()
    views["us-east"] = (views["us-east"][0], (lab.lab.addresses["cdn-newark-1"],))
    with gdnsd(lab, views=views) as server:
        run = probe(lab, server)
    assert blamed(run) == set()
    info = finding(run, "node_not_in_dns")
    assert (info["target"], info["severity"]) == ("cdn-ashburn-1", "info")
    assert info["summary"].startswith("cdn-ashburn-1 (127.0.1.4) is in no view's DNS answer")


def test_a_server_that_ignores_ecs_gives_one_info_and_label_based_impact(lab):
    lab.fault(FREMONT, "s3_disabled")
    with gdnsd(lab, ignore_ecs=True) as server:
        run = probe(lab, server)
    ignored = finding(run, "dns_ecs_ignored")
    assert ignored["severity"] == "info" and ignored["target"] == "dns"
    assert not [f for f in run["findings"] if f["kind"] == "region_routed_to_failing_node"]
    assert {a["scope"] for v in run["views"] for a in v["answers"]} == {0}
    page = render("html", run)
    assert "users routed to us-west (cdn-fremont-1: failing)" in page  # the labels again


def test_a_view_without_an_answer_is_a_finding(lab):
    with gdnsd(lab, media=False) as server:
        run = probe(lab, server)
    failures = {f["target"]: f for f in run["findings"] if f["kind"] == "view_dns_failure"}
    assert set(failures) == {"us-west", "us-east", "eu-central"}
    assert {f["severity"] for f in failures.values()} == {"critical"}  # NXDOMAIN: no media
    assert "does not exist (NXDOMAIN)" in failures["us-east"]["summary"]
    assert_healthy_not_blamed(run, set())
    assert {v["status"] for v in run["views"]} == {"unreachable"}


def test_an_unreachable_authoritative_server_is_a_warning_not_a_crash(lab):
    from edgeprobe.lab.processes import closed_port

    run = lab.probe(views=True, authoritative=f"127.0.0.1:{closed_port()}")
    failures = [f for f in run["findings"] if f["kind"] == "view_dns_failure"]
    assert {(f["target"], f["severity"]) for f in failures} == {
        ("us-west", "warning"), ("us-east", "warning"), ("eu-central", "warning")}
    assert "no authoritative server answered" in failures[0]["summary"]
    assert_healthy_not_blamed(run, set())


def test_without_authoritative_servers_the_zone_ns_are_asked_through_the_sites_nameservers(lab):
    """No [dns] authoritative: the zone's NS come from [dns] nameservers (the lab's, which
    has no SOA for the zone): a clear finding, and no query to any public resolver."""
    text = lab.probe_file(views=True).read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("authoritative"))
    path = lab.lab.dir / "no-auth.toml"
    path.write_text(text)
    from edgeprobe import config, pipeline
    from edgeprobe.result.files import run_json

    run = run_json(pipeline.probe(config.load(path)))
    failure = next(f for f in run["findings"] if f["kind"] == "view_dns_failure")
    assert "cannot find the authoritative servers of media.lab.test's zone" in failure["summary"]
    assert "set [dns] authoritative" in failure["summary"]


def test_config_discover_prints_nodes_and_views_that_make_a_probe_file(lab):
    """A new user's start: the edges each view gets, named by reverse DNS, as TOML that
    becomes a working probe file with [site] and [origin] added."""
    import tomllib

    from tests.conftest import edgeprobe

    dns_port = lab.lab.dns_port
    with gdnsd(lab) as server:
        proc = edgeprobe("config", "discover", "media.lab.test",
                         "--view", "us-west=198.51.100.0/24,2001:db8:100::/56",
                         "--view", "us-east=203.0.113.0/24", "--view", "eu-central=192.0.2.0/24",
                         "--authoritative", f"127.0.0.1:{server.port}",
                         "--nameserver", f"127.0.0.1:{dns_port}", "--instance", lab.lab.api_url)
        assert proc.returncode == 0, proc.stderr
        found = tomllib.loads(proc.stdout)
        # samples through the instance's API, and the media path prefix its URLs show
        assert found["samples"] == {"mastodon_api": lab.lab.api_url}
        assert 'add to [origin] url_prefix = "/system/" (the default)' in proc.stdout
        assert [(n["name"], n["region"], n["addresses"]) for n in found["nodes"]] == [
            (name, region, [lab.lab.addresses[name]]) for name, region in (
                ("cdn-fremont-1", "us-west"), ("cdn-seattle-1", "us-west"),
                ("cdn-newark-1", "us-east"), ("cdn-ashburn-1", "us-east"),
                ("cdn-frankfurt-1", "eu-central"), ("cdn-amsterdam-1", "eu-central"))]
        # the lab's edges are on loopback: each is marked, for the operator to confirm
        assert proc.stdout.count("is NOT globally routable") == 6
        assert found["views"][0] == {"name": "us-west",
                                     "subnets": ["198.51.100.0/24", "2001:db8:100::/56"]}
        head = lab.probe_file().read_text().split("[[nodes]]")[0]
        for table in ("[dns]", "[samples]"):  # the lab's out: discover's take their place
            start = head.index(table)
            head = head[:start] + head[head.index("\n\n", start) + 2:]
        path = lab.lab.dir / "discovered.toml"
        path.write_text(head + proc.stdout.replace("[dns]\n", f'[dns]\nnameservers = '
                                                   f'["127.0.0.1:{dns_port}"]\n'))
        run = edgeprobe("probe", "all", "-c", str(path), "-q")
        assert run.returncode == 0, run.stdout + run.stderr


def test_config_discover_groups_an_edges_addresses_and_names_the_flag_it_needs(lab):
    """One edge's IPv4 and IPv6 are one node (0.2: two nodes, cdn-fremont-1-2), grouped by
    their reverse DNS name; no answer at all is exit 2 naming the flags (0.2: exit 0, no
    node, advice naming the probe-file key)."""
    from tests.conftest import edgeprobe

    v4 = lab.lab.addresses[FREMONT]
    records = lab.lab.dns.records
    saved = records[f"{FREMONT}.lab.test"]
    records[f"{FREMONT}.lab.test"] = (v4, "::1")
    views = {"us-west": (("198.51.100.0/24",), (v4, "::1"))}
    try:
        with gdnsd(lab, views=views) as server:
            proc = edgeprobe("config", "discover", "media.lab.test", "--view",
                             "us-west=198.51.100.0/24", "--authoritative",
                             f"127.0.0.1:{server.port}", "--nameserver",
                             f"127.0.0.1:{lab.lab.dns_port}")
    finally:
        records[f"{FREMONT}.lab.test"] = saved
    assert proc.returncode == 0, proc.stderr
    import tomllib

    found = tomllib.loads(proc.stdout)
    assert [(n["name"], n["addresses"]) for n in found["nodes"]] == [(FREMONT, [v4, "::1"])]
    assert found["samples"] == {"bucket_prefixes": ["media_attachments/", "accounts/"]}
    assert f"# {FREMONT}.lab.test: grouped by reverse DNS" in proc.stdout
    from edgeprobe.lab.processes import closed_port

    proc = edgeprobe("config", "discover", "media.lab.test", "--view", "us-west=198.51.100.0/24",
                     "--nameserver", f"127.0.0.1:{closed_port()}", "--timeout", "0.3")
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith("edgeprobe: error: no view got an address for media.lab.test")
    assert "pass --authoritative IP[:PORT]" in proc.stderr and "set [dns]" not in proc.stderr


def test_config_discover_bad_input_exits_2(lab):
    from tests.conftest import edgeprobe

    proc = edgeprobe("config", "discover", "media.lab.test", "--view", "us-west=198.51.100.0/28")
    assert (proc.returncode, proc.stderr) == (
        2, "edgeprobe: error: --view: item 0: '198.51.100.0/28' is longer than /24: GeoDNS "
           "and resolvers use at most /24 of an IPv4 client address; use 198.51.100.0/24\n")
    proc = edgeprobe("config", "discover", "media.lab.test", "--view", "us-west=192.0.2.0/24",
                     "--authoritative", "ns1.example")
    assert proc.returncode == 2 and "--authoritative: 'ns1.example'" in proc.stderr


def test_a_media_host_published_as_a_cname_is_followed_to_its_addresses(lab):
    """A common setup: the media host is a CNAME to a CDN's or load balancer's name in
    another zone. The chain is followed (with the view's subnet), reported, and the
    addresses at its end judged (0.2: a critical view_dns_failure for every view)."""
    lab.fault(FREMONT, "s3_disabled")
    with gdnsd(lab, cname="edge.cdn-lb.test.") as server:
        run = probe(lab, server)
    for view in run["views"]:
        assert view["addresses"], view
        assert {tuple(a.get("cname", ())) for a in view["answers"]} == {("edge.cdn-lb.test.",)}
    assert not [f for f in run["findings"] if f["kind"] == "view_dns_failure"]
    routed = finding(run, "region_routed_to_failing_node")
    assert routed["target"] == "us-west" and FREMONT in routed["summary"]


@contextmanager
def internal_service(lab, address: str) -> Iterator[list[str]]:
    """An internal service on ``address`` (TLS, the lab's certificate, the media port) whose
    error page holds a secret, as a database admin page or a metadata service might."""
    import http.server
    import threading

    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = f"internal error: db_password={SECRET}".encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer((address, lab.lab.media_port), Handler)
    server.socket = lab.lab.certs.good.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield asked
    finally:
        server.shutdown()
        server.server_close()


SECRET = "s3cr3t-from-an-internal-page"
INTERNAL = "127.0.9.9"


def test_internal_addresses_from_dns_are_named_and_never_probed_by_default(lab):
    """A view's answer is another party's data: loopback, private, link-local (the cloud
    metadata address) are named in a finding and not probed (0.2 probed and published
    them)."""
    views = lab.lab.view_answers()
    subnets, addrs = views["us-west"]
    views["us-west"] = (subnets, (*addrs, INTERNAL, "169.254.169.254", "10.0.0.5"))
    with internal_service(lab, INTERNAL) as asked, gdnsd(lab, views=views) as server:
        run = probe(lab, server, probe_unlisted="public")
    internal = {f["target"]: f for f in run["findings"] if f["kind"] == "dns_internal_address"}
    assert set(internal) == {INTERNAL, "169.254.169.254", "10.0.0.5"}
    assert internal[INTERNAL]["severity"] == "warning"
    assert internal[INTERNAL]["evidence"]["views"] == ["us-west"]
    assert "not globally routable" in internal[INTERNAL]["summary"]
    assert asked == []  # not one request
    assert not {n["name"] for n in run["nodes"]} & set(internal)
    assert_healthy_not_blamed(run, set())


def test_an_internal_address_probed_on_request_is_judged_but_its_words_unpublished(lab):
    """probe_unlisted = "all" (the operator's choice): probed and judged like any edge, but
    what it said (its error page) appears in no output."""
    views = lab.lab.view_answers()
    subnets, addrs = views["us-west"]
    views["us-west"] = (subnets, (*addrs, INTERNAL))
    with internal_service(lab, INTERNAL) as asked, gdnsd(lab, views=views) as server:
        run = probe(lab, server, probe_unlisted="all")
    assert asked  # probed
    assert ("node_server_error", INTERNAL, "critical") in blamed(run)
    import json

    assert SECRET not in json.dumps(run)
    for fmt in ("html", "markdown", "terminal"):
        assert SECRET not in render(fmt, run)


def test_a_huge_dns_answer_is_bounded_and_its_excess_named_once(lab):
    """0.2: 190 A records made 191 nodes, a run of 40 s and 1,314 metric series. Now at most
    16 addresses of one answer are taken, and the excess is one finding."""
    views = lab.lab.view_answers()
    subnets, addrs = views["us-west"]
    extra = tuple(f"127.0.2.{i}" for i in range(1, 41))
    views["us-west"] = (subnets, (*addrs, *extra))
    with gdnsd(lab, views=views) as server:
        run = probe(lab, server)
    adhoc = [n for n in run["nodes"] if n["name"].startswith("127.0.2.")]
    assert len(adhoc) <= 16
    (capped,) = [f for f in run["findings"] if f["kind"] == "dns_unlisted_address"
                 and f["target"] == "dns"]
    assert capped["evidence"]["dropped_from_answers"] > 0
    assert "past the first 16 of one answer" in capped["summary"]
    assert len(run["findings"]) < 40
