"""Stage-level tests against real servers: DNS over UDP, S3 listing, the Mastodon API, fetch."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from edgeprobe import config
from edgeprobe.config.settings import DnsSettings, NameserverSettings, NodeSettings
from edgeprobe.lab.dns_server import start_dns
from edgeprobe.lab.s3 import BUCKET
from edgeprobe.observe.observations import SampleObject
from edgeprobe.observe.resolve import resolve_all
from edgeprobe.observe.sample import build_sample, media_urls
from tests.conftest import edgeprobe


def _resolve(records, faults, nodes, timeout=1.0):
    async def go():
        dns, transport, port = await start_dns()
        dns.records.update(records)
        dns.faults.update(faults)
        try:
            settings = DnsSettings((NameserverSettings("127.0.0.1", port),), timeout)
            return await resolve_all(settings, nodes)
        finally:
            transport.close()
    return asyncio.run(go())


def test_resolve_a_aaaa_and_failures():
    nodes = (NodeSettings("both", "r", host="both.test"), NodeSettings("v6", "r", host="v6.test"),
             NodeSettings("gone", "r", host="gone.test"), NodeSettings("sf", "r", host="sf.test"),
             NodeSettings("slow", "r", host="slow.test"),
             NodeSettings("pinned", "r", host="pinned.test", addresses=("127.0.0.9",)),
             NodeSettings("literal", "r", host="127.0.0.8"))
    records = {"both.test": ("127.0.0.5", "::1"), "v6.test": ("::1",), "sf.test": ("127.0.0.6",),
               "slow.test": ("127.0.0.7",)}
    results = {r.node: r for r in _resolve(records, {"sf.test": "servfail",
                                                     "slow.test": "timeout"}, nodes, 0.5)}
    assert results["both"].addresses == ("127.0.0.5", "::1")
    assert results["v6"].addresses == ("::1",)
    assert (results["gone"].error_kind, results["gone"].addresses) == ("nxdomain", ())
    assert results["sf"].error_kind == "servfail"
    assert results["slow"].error_kind == "timeout"
    assert results["pinned"].addresses == ("127.0.0.9",) and results["pinned"].pinned
    assert results["literal"].addresses == ("127.0.0.8",)


def _sample(path):
    s = config.load(path)
    return asyncio.run(build_sample(s.samples, s.origin, s.site.media_host, s.probe.timeout_s))


def test_spread_takes_the_newest_and_one_from_each_stride():
    import random

    from edgeprobe.observe.listing import spread

    names = [f"{i:03d}/" for i in range(100)]
    for seed in range(20):
        chosen = spread(names, 5, random.Random(seed))
        assert len(chosen) == 5 and chosen[-1] == "099/"
        # one from each quarter of the other 99 names (strides of 24-25)
        for k, c in enumerate(chosen[:-1]):
            assert k * 99 // 4 <= int(c[:3]) < (k + 1) * 99 // 4
    assert spread(names, 5, random.Random(1)) == spread(names, 5, random.Random(1))
    assert spread(names[:3], 5, random.Random(1)) == names[:3]
    assert spread(names, 1, random.Random(1)) == ["099/"]


def test_bucket_sampling_spreads_over_the_key_range_and_takes_the_newest(lab):
    """Mastodon's id partitions list oldest first: the first keys of a listing are the oldest
    media (the old sampler took them). The walk reaches the newest and spreads over the
    whole range."""
    client = lab.lab.s3.client
    base = "spread/media_attachments/files/"
    keys = [f"{base}{109 + i // 20:03d}/{i % 20:03d}/{i * 7 % 1000:03d}/original/{i:016x}.png"
            for i in range(60)]
    for key in keys:
        client.put_object(Bucket="lab-media", Key=key, Body=b"x")
    try:
        path = lab.probe_file(samples=f'bucket_prefixes = ["{base}"]\nper_prefix = 4\n'
                              "list_limit = 50\nseed = 7")
        sample = _sample(path)
        got = [o.key for o in sample.objects]
        assert len(got) == 4 and set(got) <= set(keys)
        assert max(keys) in got  # the newest upload: the one no cache holds
        assert {k[len(base):len(base) + 3] for k in got} == {"109", "110", "111"}
        assert all(o.listed and o.listed.size == 1 for o in sample.objects)
        assert got == [o.key for o in _sample(path).objects]  # the same seed, the same keys
    finally:
        for key in keys:
            client.delete_object(Bucket="lab-media", Key=key)


def test_bucket_prefix_sampling_against_lab_s3(lab):
    path = lab.probe_file(samples='bucket_prefixes = ["media_attachments/", "cache/", "nope/"]'
                          '\nper_prefix = 2\nseed = 3')
    sample = _sample(path)
    keys = [o.key for o in sample.objects]
    assert [o.source for o in sample.objects] == ["bucket"] * 4
    assert sum(k.startswith("media_attachments/") for k in keys) == 2
    assert sum(k.startswith("cache/") for k in keys) == 2
    assert keys == [o.key for o in _sample(path).objects]


def test_listing_failure_is_a_note_not_a_crash(lab):
    path = lab.probe_file(origin="no_such_bucket", samples='paths = ["/system/x.png"]\n'
                          'bucket_prefixes = ["accounts/"]')
    sample = _sample(path)
    assert [o.path for o in sample.objects] == ["/system/x.png"]
    assert sample.notes[0].kind == "samples_unavailable"
    assert "no_such_bucket" in str(sample.notes[0].evidence)


def test_samples_max_bounds_the_sample(lab):
    path = lab.probe_file(samples=f'paths = {lab.lab.paths!r}\nmax = 3'.replace("'", '"'))
    sample = _sample(path)
    assert [o.path for o in sample.objects] == lab.lab.paths[:3]
    assert sample.notes[0].kind == "samples_truncated"


def test_mastodon_api_discovery(lab):
    samples = f'mastodon_api = "{lab.lab.api_url}"'
    run = lab.probe(samples=samples)
    assert run["ok"] is True
    assert [o["path"] for o in run["objects"]] == lab.lab.paths[:4]
    assert {o["source"] for o in run["objects"]} == {"api"}
    assert not any("missing.png" in o["path"] for o in run["objects"])


@pytest.mark.parametrize("mode", ["refuse", "empty"])
def test_mastodon_api_refusal_is_not_a_probe_failure(lab, mode):
    lab.lab.api_mode["api"] = mode
    run = lab.probe(samples=f'paths = ["{lab.lab.paths[0]}"]\nmastodon_api = "{lab.lab.api_url}"')
    assert run["ok"] is True
    (note,) = run["findings"]
    assert (note["kind"], note["severity"]) == ("samples_unavailable", "info")
    if mode == "refuse":
        assert "HTTP 401" in str(note["evidence"]["answers"])


def test_media_urls_finds_every_field():
    doc = [{"media_attachments": [{"url": "https://m/system/a", "preview_url": "https://m/b",
                                   "remote_url": None}],
            "account": {"avatar": "https://m/c", "header_static": "https://m/d"},
            "emojis": [{"url": "https://m/e", "static_url": "https://m/f"}],
            "card": {"image": "https://m/g"}}]
    assert media_urls(doc) == [f"https://m/{x}" for x in ["system/a", "b", "c", "d", "e", "f",
                                                          "g"]]


def test_each_node_gets_its_own_connection(lab):
    """aiohttp pools by host name: a shared pool would answer every node from one of them."""
    lab.fault("cdn-newark-1", "s3_disabled")
    run = lab.probe()
    for obj in run["objects"]:
        for node, result in obj["results"].items():
            assert result["address"] == lab.lab.addresses[node]
        assert obj["results"]["cdn-newark-1"]["status_code"] == 404
        assert obj["results"]["cdn-fremont-1"]["status_code"] == 200


def test_host_header_and_sni_are_the_media_host(lab):
    """The edges' certificate is only for media.lab.test: a pass proves SNI + verification."""
    run = lab.probe()
    assert run["ok"] is True
    proc = subprocess.run(["curl", "--version"], capture_output=True)
    if proc.returncode == 0:  # the curl command in evidence really reproduces a check
        lab.fault("cdn-fremont-1", "s3_disabled")
        run = lab.probe()
        curl = run["objects"][0]["results"]["cdn-fremont-1"]["curl"]
        out = subprocess.run(curl, shell=True, capture_output=True, text=True, timeout=20)
        assert out.stdout.startswith("HTTP/1.1 404"), out.stderr


def test_secrets_never_leave(lab, tmp_path):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    env = {"AWS_ACCESS_KEY_ID": "AKIAEDGEPROBETEST", "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_SESSION_TOKEN": secret + "TOKEN"}
    lab.fault("cdn-fremont-1", "s3_disabled")
    for origin in ("ok", "unreachable", "no_such_bucket"):
        probe = lab.probe_file(f"{origin}.toml", origin=origin).read_text()
        probe = probe.replace("anonymous = true", "anonymous = false")
        (tmp_path / "p.toml").write_text(probe)
        proc = edgeprobe("probe", "all", "-c", str(tmp_path / "p.toml"), "--json",
                         str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"),
                         "--markdown", str(tmp_path / "r.md"), env=env)
        assert proc.returncode == 1, proc.stderr
        outputs = proc.stdout + proc.stderr + "".join(
            (tmp_path / f"r.{ext}").read_text() for ext in ("json", "html", "md"))
        assert secret not in outputs and "AKIAEDGEPROBETEST" not in outputs
    assert os.environ.get("AWS_SECRET_ACCESS_KEY") != secret


def test_no_credentials_is_origin_unavailable_not_a_crash(lab, tmp_path):
    probe = lab.probe_file().read_text().replace("anonymous = true", "anonymous = false")
    (tmp_path / "p.toml").write_text(probe)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "edgeprobe", "probe", "all", "-c",
                           str(tmp_path / "p.toml"), "--json", "-"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    (finding,) = [f for f in json.loads(proc.stdout)["findings"] if f["kind"] != "fleet_slow"]
    assert (finding["kind"], finding["severity"]) == ("origin_unavailable", "warning")
    assert finding["evidence"]["error_kind"] == "no_credentials"
    assert "standard boto3 chain" in finding["summary"]


def test_sample_object_paths_are_quoted():
    from edgeprobe.mastodon import key_to_path, path_to_key
    key = "site_uploads/files/000/000/001/@1x/a b+c.png"
    path = key_to_path(key, "/system/")
    assert path == "/system/site_uploads/files/000/000/001/@1x/a%20b%2Bc.png"
    assert path_to_key(path, "/system/") == key
    assert SampleObject(path, key, "bucket").key == key


@pytest.mark.parametrize(("mode", "why"), [("deep", "JSON nested too deeply"),
                                           ("bomb", "decodes to over 16 MiB")])
def test_hostile_api_answers_are_a_note_not_an_abort(lab, mode, why):
    lab.lab.api_mode["api"] = mode
    run = lab.probe(samples=f'paths = ["{lab.lab.paths[0]}"]\nmastodon_api = "{lab.lab.api_url}"')
    assert run["ok"] is True
    (note,) = run["findings"]
    assert (note["kind"], note["severity"]) == ("samples_unavailable", "info")
    assert f"/api/v1/timelines/public: {why}" in note["evidence"]["answers"]


def test_api_media_under_another_prefix_is_a_clear_error(lab):
    """An S3_ALIAS_HOST site serves keys at the media host's root, not under /system/."""
    lab.lab.api_mode["api"] = "alias"
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file(
        samples=f'mastodon_api = "{lab.lab.api_url}"')))
    assert proc.returncode == 2
    assert proc.stderr == (f"edgeprobe: error: the site's media URLs (from {lab.lab.api_url}) "
                           "are under '/', not under [origin] url_prefix '/system/': set "
                           "url_prefix = '/'\n")


def test_listed_keys_need_no_head(lab):
    """A key sampled from a listing comes with its size and ETag: the bucket check HEADs
    only explicit and API paths (a cheaper check, same verdicts)."""
    from edgeprobe import pipeline
    from edgeprobe.result.files import run_json

    explicit = lab.lab.paths[0]
    path = lab.probe_file(samples=f'paths = ["{explicit}"]\n'
                          'bucket_prefixes = ["media_attachments/"]\nper_prefix = 3')
    lab.fault("cdn-fremont-1", "stale")
    lab.lab.s3.requests.clear()
    run = run_json(pipeline.probe(config.load(path)))
    # what the bucket was asked by the prober (the edges' GETs go through other paths)
    heads = [p for m, p in lab.lab.s3.requests if m == "HEAD" and p != f"/{BUCKET}"]
    assert len(run["objects"]) == 4 and len(heads) == 1 and heads[0].endswith(explicit[8:])
    listed = [o for o in run["objects"] if o["source"] == "bucket"]
    assert all(o["origin"]["exists"] and o["origin"]["size"] and o["origin"]["etag"]
               for o in listed)
    assert {o["results"]["cdn-fremont-1"]["verdict"] for o in run["objects"]} == {"mismatch"}
    assert {o["results"]["cdn-seattle-1"]["verdict"] for o in run["objects"]} == {"ok"}


def test_phase_timings_per_check_and_per_node(lab):
    """libcurl's phases, like blackbox_exporter's probe_http_duration_seconds{phase}."""
    run = lab.probe()
    for node in run["nodes"]:
        phases = node["phases_ms"]
        assert set(phases) == {"connect", "tls", "first_byte", "transfer", "total"}
        assert 0 < phases["connect"] <= phases["tls"] <= phases["first_byte"] <= phases["total"]
    first = run["objects"][0]["results"]["cdn-fremont-1"]["timing"]  # a new connection
    assert 0 < first["connect_ms"] <= first["tls_ms"] <= first["first_byte_ms"]
    assert first["transfer_ms"] >= 0
