"""A real HTTP/3 edge: Debian's caddy, on one loopback address, TCP and UDP on one port,
in front of the lab's moto bucket (path style), with the headers Mastodon's proxy block adds.
Caddy advertises HTTP/3 itself (``Alt-Svc: h3=":PORT"``), as an edge with QUIC enabled does."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from edgeprobe.errors import LabError
from edgeprobe.lab.processes import stop

CADDYFILE = """\
{{
  admin off
  auto_https off
  storage file_system {dir}/data
  servers {{
    protocols h1 h2 h3
  }}
}}
https://{media_host}:{port} {{
  bind {address}
  tls {cert} {key}
  header Access-Control-Allow-Origin "*"
  header X-Content-Type-Options nosniff
  header Cache-Control "public, max-age=31536000"
  rewrite * /{bucket}{{uri}}
  reverse_proxy {store} {{
    header_up Host {{upstream_hostport}}
    header_down -Access-Control-Allow-Origin
  }}
}}
"""


def caddy_binary() -> str | None:
    return shutil.which("caddy")


class CaddyEdge:
    def __init__(self, root: Path, address: str, port: int, media_host: str, store: str,
                 bucket: str, cert: Path, key: str | Path) -> None:
        self.dir = root / "caddy"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.address, self.port = address, port
        (self.dir / "Caddyfile").write_text(CADDYFILE.format(
            dir=self.dir, media_host=media_host, port=port, address=address, cert=cert,
            key=key, bucket=bucket, store=store))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        caddy = caddy_binary()
        if caddy is None:
            raise LabError("caddy is not installed (Debian: apt-get install caddy)")
        self.proc = subprocess.Popen(
            [caddy, "run", "--config", str(self.dir / "Caddyfile"), "--adapter", "caddyfile"],
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "caddy.log", "wb"),  # noqa: SIM115
            env={"HOME": str(self.dir), "XDG_DATA_HOME": str(self.dir),
                 "XDG_CONFIG_HOME": str(self.dir)})
        deadline = time.monotonic() + 15
        import socket

        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError(f"caddy exited: {(self.dir / 'caddy.log').read_text()[-800:]}")
            try:
                socket.create_connection((self.address, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise LabError(f"caddy did not listen: {(self.dir / 'caddy.log').read_text()[-800:]}")

    def stop(self) -> None:
        stop(self.proc)
