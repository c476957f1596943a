"""Probe files: each invalid-*.toml with its exact message; valid ones load with defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeprobe import config
from edgeprobe.config import defaults
from edgeprobe.errors import ConfigError
from tests.conftest import ROOT, edgeprobe

CONFIGS = Path(__file__).parent / "configs"

EXPECTED = {
    "invalid-syntax.toml":
        "invalid-syntax.toml:5: TOML syntax error: Expected ']' at the end of a table "
        "declaration (column 8)",
    "invalid-unknown-key.toml":
        "invalid-unknown-key.toml:10: probe.per_node_concurency: unknown key (did you mean "
        "'per_node_concurrency'?); known: timeout_s, concurrency, per_node_concurrency, slow_ms, "
        "max_body_bytes, cert_warn_days, processes",
    "invalid-nan.toml": "invalid-nan.toml:9: probe.timeout_s: must be a finite number, not nan",
    "invalid-tiny-timeout.toml":
        "invalid-tiny-timeout.toml:9: probe.timeout_s: must be at least 0.1, not 0.0001",
    "invalid-serve-interval.toml":
        "invalid-serve-interval.toml:9: serve.interval_s: must be at least 1, not 0.001",
    "invalid-probe-unlisted.toml":
        "invalid-probe-unlisted.toml:9: dns.probe_unlisted: must be one of 'public', 'all', "
        "'none', not 'private'",
    "invalid-too-large.toml":
        "invalid-too-large.toml:9: probe.timeout_s: must be at most 600, not 1e+308",
    "invalid-port-zero.toml":
        "invalid-port-zero.toml:3: site.media_url: port 0 in URL "
        "'https://media.hachyderm.io:0': use 1-65535, or no port",
    "invalid-ip-media-url.toml":
        "invalid-ip-media-url.toml:3: site.media_url: must name the media host, not an IP "
        "address (::1): edgeprobe sends that name as Host and SNI to every node",
    "invalid-ca-not-pem.toml":
        "invalid-ca-not-pem.toml:4: site.ca_file: not-a-ca.pem holds no PEM CA certificate "
        "(NO_CERTIFICATE_OR_CRL_FOUND)",
    "invalid-origin-ca.toml":
        "invalid-origin-ca.toml:7: origin.ca_file: not-a-ca.pem holds no PEM CA certificate "
        "(NO_CERTIFICATE_OR_CRL_FOUND)",
    "invalid-bad-idna.toml":
        "invalid-bad-idna.toml:3: site.media_url: 'media..test' is not a valid host name",
    "invalid-processes.toml":
        "invalid-processes.toml:9: probe.processes: must be 0 (a thread of the probing "
        "process) to 16, not 32",
    "invalid-retests.toml":
        "invalid-retests.toml:9: incident.retests: must be 0 (never), 1 or 2, not 3",
    "invalid-unknown-table.toml":
        "invalid-unknown-table.toml:8: site2: unknown table (did you mean 'site'?); known: "
        "site, origin, nodes, dns, samples, probe, canary, incident, serve, views",
    "invalid-dup-table.toml":
        "invalid-dup-table.toml:8: site.extra: unknown key; known: name, media_url, ca_file, "
        "verify_tls, web_url, cross_origin",
    "invalid-wrong-type.toml":
        "invalid-wrong-type.toml:9: probe.concurrency: must be an integer, not a string ('lots')",
    "invalid-missing-bucket.toml":
        "invalid-missing-bucket.toml:5: origin.bucket: missing required key",
    "invalid-duplicate-node.toml":
        "invalid-duplicate-node.toml:14: nodes[1].name: duplicate node name 'cdn-fremont-1' "
        "(first at nodes[0])",
    "invalid-bad-url.toml":
        "invalid-bad-url.toml:3: site.media_url: must be a URL starting with http:// or "
        "https:// and a host, not 'media.hachyderm.io'",
    "invalid-credentials-in-url.toml":
        "invalid-credentials-in-url.toml:3: site.media_url: must not carry a user name or "
        "password (credentials come from the environment, never the probe file)",
    "invalid-bad-port.toml":
        "invalid-bad-port.toml:11: nodes[0].port: must be 1-65535, not 99999",
    "invalid-nameserver.toml":
        "invalid-nameserver.toml:9: dns.nameservers: item 1 must be \"ip\" or \"ip:port\", "
        "not 'ns1.example.com'",
    "invalid-negative.toml":
        "invalid-negative.toml:9: probe.timeout_s: must be greater than 0, not -1",
    "invalid-no-nodes.toml":
        "invalid-no-nodes.toml: nodes: missing: add at least one [[nodes]] table",
    "invalid-node-region.toml":
        "invalid-node-region.toml:8: nodes[0].region: missing required key",
    "invalid-removed-key.toml":
        "invalid-removed-key.toml:10: probe.cache_bust: removed in edgeprobe 0.2: a query "
        "string does not bypass the cache of Mastodon's documented nginx proxy (its cache key "
        "is $s3_backend$uri, without the query); the origin-path canary ([canary], on by "
        "default) now finds a broken path to the bucket behind a warm cache. Delete this line",
    "invalid-canary-prefix.toml":
        "invalid-canary-prefix.toml:10: canary.prefix: '/system/../canary/': a key prefix of "
        "letters, digits, '.', '_', '-' and '/', not starting with '/'",
    "invalid-canary-requests.toml":
        "invalid-canary-requests.toml:10: canary.requests: must be 0 (off) to 10, not 11",
    "invalid-serve-listen.toml":
        "invalid-serve-listen.toml:10: serve.listen: 'localhost:9330': use \"ip:port\" "
        "(\"127.0.0.1:9330\", \"[::1]:9330\")",
    "invalid-view-empty.toml":
        "invalid-view-empty.toml:15: views[0].subnets: must list at least one subnet "
        "(\"198.51.100.0/24\")",
    "invalid-view-host-bits.toml":
        "invalid-view-host-bits.toml:15: views[0].subnets: item 0: '198.51.100.7/24' is not a "
        "network (198.51.100.7/24 has host bits set)",
    "invalid-view-overlap.toml":
        "invalid-view-overlap.toml:19: views[1].subnets: 198.51.0.0/16 overlaps "
        "198.51.100.0/24 of view 'us-west': a user belongs to one view",
    "invalid-view-prefix.toml":
        "invalid-view-prefix.toml:15: views[0].subnets: item 0: '198.51.100.0/28' is longer "
        "than /24: GeoDNS and resolvers use at most /24 of an IPv4 client address; use "
        "198.51.100.0/24",
    "invalid-view-subnet.toml":
        "invalid-view-subnet.toml:15: views[0].subnets: item 0: '198.51.100.0/33' is not a "
        "network ('198.51.100.0/33' does not appear to be an IPv4 or IPv6 network)",
    "invalid-sample-prefix.toml":
        "invalid-sample-prefix.toml:9: samples.paths: '/media/a.png' does not start with "
        "[origin].url_prefix '/system/'",
}


def test_every_invalid_file_has_an_expected_message():
    assert {p.name for p in CONFIGS.glob("invalid-*.toml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_probe_file_message(name, monkeypatch):
    monkeypatch.chdir(CONFIGS)
    with pytest.raises(ConfigError) as err:
        config.load(name)
    assert str(err.value) == EXPECTED[name]


@pytest.mark.parametrize("name", ["invalid-syntax.toml", "invalid-unknown-key.toml",
                                  "invalid-duplicate-node.toml", "invalid-missing-bucket.toml"])
def test_cli_bad_probe_file_exits_2_with_one_line(name):
    proc = edgeprobe("probe", "all", "-c", name, cwd=CONFIGS)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"edgeprobe: error: {EXPECTED[name]}\n"


def test_missing_probe_file(tmp_path):
    proc = edgeprobe("probe", "all", "-c", str(tmp_path / "nope.toml"))
    assert proc.returncode == 2
    assert "no such probe file" in proc.stderr and "Traceback" not in proc.stderr


def test_config_path_from_environment(tmp_path):
    proc = edgeprobe("config", "check", env={defaults.CONFIG_ENV: str(tmp_path / "env.toml")},
                     cwd=tmp_path)
    assert proc.returncode == 2
    assert str(tmp_path / "env.toml") in proc.stderr


def test_config_path_default(tmp_path):
    proc = edgeprobe("config", "check", env={defaults.CONFIG_ENV: ""}, cwd=tmp_path)
    assert proc.returncode == 2
    assert "probes/edgeprobe.toml: no such probe file" in proc.stderr


def test_valid_minimal_has_defaults():
    s = config.load(CONFIGS / "valid-minimal.toml")
    assert s.site.media_host == "media.hachyderm.io" and s.site.port == 443
    assert s.probe.timeout_s == defaults.PROBE_TIMEOUT_S
    assert s.probe.concurrency == defaults.CONCURRENCY
    assert s.probe.per_node_concurrency == defaults.PER_NODE_CONCURRENCY
    assert s.origin.url_prefix == "/system/" and s.origin.anonymous is False
    assert s.dns.nameservers == ()
    assert [n.name for n in s.nodes] == ["cdn-fremont-1", "cdn-frankfurt-1"]
    assert s.regions() == {"us-west": ["cdn-fremont-1"], "eu-central": ["cdn-frankfurt-1"]}


def test_nameserver_forms():
    text = (CONFIGS / "valid-minimal.toml").read_text() + \
        '\n[dns]\nnameservers = ["127.0.0.1:5353", "10.0.0.2", "[::1]:53"]\n'
    s = config.loads(text, "x.toml")
    assert [str(n) for n in s.dns.nameservers] == ["127.0.0.1:5353", "10.0.0.2:53", "::1:53"]


def test_shipped_example_probe_files_are_valid():
    for path in (ROOT / "probes").glob("*.toml"):
        if path.name == "example.toml":
            s = config.load(path)
            assert s.nodes


def test_a_non_ascii_media_host_is_used_in_its_idna_form():
    text = (CONFIGS / "valid-minimal.toml").read_text().replace("media.hachyderm.io",
                                                                 "bücher.test")
    s = config.loads(text, "x.toml")
    assert (s.site.media_url, s.site.media_host) == ("https://xn--bcher-kva.test",
                                                     "xn--bcher-kva.test")


def test_a_non_ascii_media_host_is_probed_not_refused(lab, tmp_path):
    """Before: the pinned resolver compared 'bücher…' with 'xn--bcher…' and refused every
    connection (a critical fleet_wide_failure on a healthy fleet)."""
    from edgeprobe import pipeline
    from edgeprobe.result.files import run_json

    text = lab.probe_file().read_text().replace("media.lab.test", "bücher.lab.test")
    text = text.replace("[site]\n", "[site]\nverify_tls = false\n")
    (tmp_path / "p.toml").write_text(text)
    run = run_json(pipeline.probe(config.load(tmp_path / "p.toml")))
    assert not [f for f in run["findings"] if f["severity"] != "info"], run["findings"]
    assert {n["status"] for n in run["nodes"]} == {"healthy"}


def test_every_key_is_documented_and_every_table_known():
    """The settings fields are the keys: each one has its row in docs/probe-file.md."""
    from dataclasses import fields

    from edgeprobe.config.settings import SECTIONS

    docs = (ROOT / "docs" / "probe-file.md").read_text()
    for section, cls in SECTIONS.items():
        assert f"`[{section}]`" in docs or f"`[[{section}]]`" in docs, section
        for f in fields(cls):
            assert f"| `{f.name}` |" in docs, f"docs/probe-file.md lacks {section}.{f.name}"
