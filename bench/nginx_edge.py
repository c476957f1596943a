"""Real nginx edges for the benchmark, configured like Mastodon's object-storage proxy
(docs.joinmastodon.org, "Using a proxy for object storage"), each its own nginx process."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

CONFIG = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
{user}
events {{ worker_connections 1024; }}
http {{
  access_log off;
  proxy_cache_path {dir}/cache levels=1:2 keys_zone=CACHE:10m inactive=7d max_size=4g;
  proxy_temp_path {dir}/tmp; client_body_temp_path {dir}/tmp;
  fastcgi_temp_path {dir}/tmp; uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  keepalive_requests 100000;
  server {{
    listen {address}:{port} ssl;
    server_name {media_host};
    ssl_certificate {dir}/cert.pem;
    ssl_certificate_key {dir}/key.pem;
    location /system/ {{
      limit_except GET {{ deny all; }}
      proxy_set_header Host 127.0.0.1:{s3_port};
      proxy_set_header Connection '';
      proxy_set_header Authorization '';
      proxy_hide_header Set-Cookie;
      proxy_hide_header 'Access-Control-Allow-Origin';
      proxy_hide_header 'Access-Control-Allow-Methods';
      proxy_hide_header 'Access-Control-Allow-Headers';
      proxy_hide_header x-amz-id-2;
      proxy_hide_header x-amz-request-id;
      proxy_hide_header x-amz-meta-server-side-encryption;
      proxy_hide_header x-amz-server-side-encryption;
      proxy_hide_header x-amz-bucket-region;
      proxy_hide_header x-amzn-requestid;
      proxy_ignore_headers Set-Cookie;
      proxy_pass http://127.0.0.1:{s3_port}/{bucket}/;
      proxy_intercept_errors off;
      proxy_cache CACHE;
      proxy_cache_valid 200 48h;
      proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
      proxy_cache_lock on;
      expires 1y;
      add_header Cache-Control public;
      add_header 'Access-Control-Allow-Origin' '*';
      add_header X-Cache-Status $upstream_cache_status;
      add_header X-Content-Type-Options nosniff;
      add_header Content-Security-Policy "default-src 'none'; form-action 'none'";
    }}
  }}
}}
"""


class NginxEdge:
    def __init__(self, root: Path, name: str, address: str, port: int, media_host: str,
                 s3_port: int, bucket: str, cert_pem: bytes, key_pem: bytes) -> None:
        self.dir = root / name
        (self.dir / "tmp").mkdir(parents=True)
        (self.dir / "cache").mkdir()
        (self.dir / "cert.pem").write_bytes(cert_pem)
        (self.dir / "key.pem").write_bytes(key_pem)
        for path in (root, self.dir, self.dir / "tmp", self.dir / "cache"):
            path.chmod(0o777)  # nginx's workers drop privileges when started as root
        (self.dir / "nginx.conf").write_text(CONFIG.format(
            dir=self.dir, address=address, port=port, media_host=media_host, s3_port=s3_port,
            bucket=bucket, user="user nobody nogroup;" if _root() else ""))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-c", str(self.dir / "nginx.conf"),
                                      "-p", str(self.dir), "-e", str(self.dir / "error.log")])
        deadline = time.monotonic() + 10
        while not (self.dir / "nginx.pid").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.dir / "error.log").read_text())
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _root() -> bool:
    import os
    return os.geteuid() == 0
