"""The healthy HTTP/3 path against a real HTTP/3 server on loopback (Debian's caddy, which
advertises ``Alt-Svc: h3``): edgeprobe follows the advertisement, fetches over QUIC, and
finds nothing wrong; beside it an nginx edge that speaks h2 only is "not offered"."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from edgeprobe import config, pipeline
from edgeprobe.lab.processes import closed_port
from edgeprobe.result.files import run_json
from tests.needs import need
from tests.servers.caddy import CaddyEdge, caddy_binary

pytestmark = pytest.mark.lab
MEDIA_HOST = "media.lab.test"
ADDRESS = "127.0.3.9"


def test_http3_edge_is_fetched_over_quic_and_passes():
    from edgeprobe.lab.certs import make_certs
    from edgeprobe.lab.content import default_objects
    from edgeprobe.lab.s3 import BUCKET, REGION, LabS3
    from edgeprobe.observe.transfer import HAS_HTTP3

    need(caddy_binary(), "caddy", "Debian: apt-get install caddy")
    if not HAS_HTTP3:
        pytest.skip("this libcurl has no HTTP/3 (the run says 'not tested')")
    root = Path(tempfile.mkdtemp(prefix="edgeprobe-h3-"))
    s3 = LabS3()
    s3.start()
    edge = None
    try:
        objects = default_objects()
        for obj in objects:
            s3.put(obj)
        certs = make_certs(MEDIA_HOST, root)
        assert certs.cert_file and certs.key_file
        port = closed_port()
        edge = CaddyEdge(root, ADDRESS, port, MEDIA_HOST, s3.endpoint.removeprefix("http://"),
                         BUCKET, certs.cert_file, certs.key_file)
        edge.start()
        paths = ", ".join(f'"/{o.key}"' for o in objects)
        probe = root / "h3.toml"
        probe.write_text("\n".join([
            "[site]", 'name = "h3-lab"', f'media_url = "https://{MEDIA_HOST}:{port}"',
            f'ca_file = "{certs.ca_file}"', 'web_url = "https://mastodon.lab.test"',
            "[origin]", f'bucket = "{BUCKET}"', f'endpoint_url = "{s3.endpoint}"',
            f'region = "{REGION}"', 'url_prefix = "/"', "anonymous = true",
            "[samples]", f"paths = [{paths}]", "[probe]", "timeout_s = 10.0",
            "[canary]", "requests = 0",  # caddy is no S3 proxy with S3 errors: not its test
            f'[[nodes]]\nname = "cdn-h3-1"\nregion = "lab"\naddresses = ["{ADDRESS}"]\n']))
        run = run_json(pipeline.probe(config.load(probe)))
        blaming = [f for f in run["findings"] if f["severity"] != "info"]
        assert blaming == [], json.dumps(blaming)[:1500]
        node = run["nodes"][0]
        assert node["browser"] == {"protocols": {"h2": "ok", "h3": "ok"}, "cors": "ok",
                                   "range": "ok"}, node["browser"]
    finally:
        if edge is not None:
            edge.stop()
        s3.stop()
        shutil.rmtree(root, ignore_errors=True)
