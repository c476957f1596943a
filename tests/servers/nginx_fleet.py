"""Four real nginx edges with Mastodon's documented proxy block (tests/servers/nginx.py)
in front of the lab's moto bucket: the fleet the real-nginx tests of tests/fleet/ share
(one per test module, through tests/fleet/conftest.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgeprobe import config, pipeline
from edgeprobe.lab.processes import closed_port
from edgeprobe.result.files import run_json
from tests.servers.nginx import MastodonProxyEdge

MEDIA_HOST = "media.lab.test"
# healthy throughout; the three others are broken in turn
EDGES = {"cdn-seattle-1": "127.0.3.1", "cdn-fremont-1": "127.0.3.2",
         "cdn-newark-1": "127.0.3.3", "cdn-frankfurt-1": "127.0.3.4"}
SEATTLE, FREMONT, NEWARK, FRANKFURT = EDGES


class NginxFleet:
    def __init__(self, root: Path) -> None:
        from edgeprobe.lab.certs import make_certs
        from edgeprobe.lab.content import default_objects
        from edgeprobe.lab.s3 import BUCKET, LabS3

        self.root = root
        self.s3 = LabS3()
        self.s3.start()
        self.objects = default_objects()
        for obj in self.objects:
            self.s3.put(obj)
        self.certs = make_certs(MEDIA_HOST, root)
        assert self.certs.cert_file and self.certs.key_file
        self.port = closed_port()
        store = self.s3.endpoint.removeprefix("http://")
        self.edges = {name: MastodonProxyEdge(root, name, address, self.port, MEDIA_HOST, store,
                                              BUCKET, self.certs.cert_file, self.certs.key_file)
                      for name, address in EDGES.items()}
        for edge in self.edges.values():
            edge.start()

    def probe_file(self, timeout_s: float = 5.0, retests: int = 0) -> Path:
        """One look per run unless ``retests`` (tests/fleet/test_retest_nginx.py)."""
        from edgeprobe.lab.s3 import BUCKET, REGION

        paths = ", ".join(f'"/{o.key}"' for o in self.objects)
        text = "\n".join([
            "[site]", 'name = "nginx-lab"', f'media_url = "https://{MEDIA_HOST}:{self.port}"',
            f'ca_file = "{self.certs.ca_file}"',
            "[origin]", f'bucket = "{BUCKET}"', f'endpoint_url = "{self.s3.endpoint}"',
            f'region = "{REGION}"', 'url_prefix = "/"', "anonymous = true",
            "[samples]", f"paths = [{paths}]", "[probe]", f"timeout_s = {timeout_s}",
            "[incident]", f"retests = {retests}", "",
            *(f'[[nodes]]\nname = "{n}"\nregion = "lab"\naddresses = ["{a}"]\n'
              for n, a in EDGES.items())])
        path = self.root / "nginx.toml"
        path.write_text(text)
        return path

    def probe(self, timeout_s: float = 5.0, state: Path | None = None) -> dict[str, Any]:
        settings = config.load(self.probe_file(timeout_s))
        return run_json(pipeline.probe(settings, state=state))

    def stop(self) -> None:
        for edge in self.edges.values():
            edge.stop()
        self.s3.stop()


@contextmanager
def running_fleet() -> Iterator[NginxFleet]:
    """A started fleet in a temporary directory, stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="edgeprobe-nginx-"))
    running = NginxFleet(root)
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(root, ignore_errors=True)
