"""A real nginx edge with Mastodon's documented object-storage proxy configuration
("Proxying object storage through nginx", docs.joinmastodon.org/admin/optional/
object-storage-proxy), for the tests that must hold against nginx itself (its cache key,
its error pass-through) and for the benchmark.

The configuration is the documented one, directive for directive, with four lab changes,
each marked in CONFIG: the listen address, port and certificate; ``http://`` to moto
instead of ``https://`` to a cloud store; no ``resolver`` — the bucket's host name is an
``upstream`` group of that name, which nginx finds before it would resolve anything, so no
query leaves loopback; and one ``/edgeprobe-lab-generation`` location that tells a
reconfiguration has taken effect. Its object store is the lab's moto server, addressed by
bucket host name (``<bucket>.s3.lab.test``, virtual-hosted style), like the cloud stores.

MODES are the ways such an edge breaks, each a real configuration mistake:
``host_misspelt`` (the bucket name wrong in ``proxy_set_header Host`` only: the cache key,
the evaluated ``$s3_backend$uri``, is unchanged, so cached objects keep being served),
``bucket_misspelt`` (wrong in ``$s3_backend`` too: a new cache key, every object missing
at once), ``origin_down`` (the store unreachable: 502 at once), ``origin_hangs`` (the store
accepts the connection and never answers, as a hung resolver or upstream does: nginx waits
its own 60 s), ``storage_off`` (no proxy: files looked up on the local disk), ``catch_all`` (a
fallback page for every missing file) and ``no_cache`` (no ``proxy_cache`` line: every
request goes to the bucket, and no ``X-Cache-Status`` at all). And the ways an edge fails
browsers: ``cors_missing`` (the ``Access-Control-Allow-Origin`` line left out),
``wrong_type`` (the bucket's Content-Type hidden and ``text/plain`` sent, with nosniff),
``no_range`` (``max_ranges 0``: ranges ignored), ``h2_broken`` (502 for every HTTP/2
request, as a broken HTTP/2 stack or proxy module does) and ``alt_svc_h3`` (HTTP/3
advertised, nothing listening on UDP).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from edgeprobe.errors import LabError
from edgeprobe.lab.processes import closed_port, silent_listener, stop

MODES = ("healthy", "host_misspelt", "bucket_misspelt", "origin_down", "origin_hangs",
         "storage_off", "catch_all", "no_cache",
         # as a browser meets the edge
         "cors_missing", "wrong_type", "no_range", "h2_broken", "alt_svc_h3")
S3_HOST = "s3.lab.test"

CONFIG = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
{user}
events {{ worker_connections 512; }}
http {{
  access_log off;
  proxy_cache_path {dir}/cache levels=1:2 keys_zone=CACHE:10m inactive=7d max_size=1g;
  proxy_temp_path {dir}/tmp; client_body_temp_path {dir}/tmp;
  fastcgi_temp_path {dir}/tmp; uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  keepalive_requests 100000;
  # lab: the store's host names as upstream groups (found before any DNS; no resolver)
  upstream {bucket}.{s3_host} {{ server {store}; }}
  upstream {typo}.{s3_host} {{ server {store}; }}

  server {{
    listen {address}:{port} ssl{http2};  # lab: one loopback address per edge
    server_name {media_host};
    root {dir}/html;
    ssl_certificate {cert};
    ssl_certificate_key {key};

    keepalive_timeout 30;

    location = /edgeprobe-lab-generation {{ return 200 "{generation}"; }}  # lab

    location = / {{
      index index.html;
    }}

    location / {{
      {h2_broken}
      {try_files}
    }}

    set $s3_backend 'http://{backend_bucket}.{s3_host}';

    location @s3 {{
      limit_except GET {{
        deny all;
      }}

      proxy_set_header Host {host_bucket}.{s3_host};
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
      proxy_pass $s3_backend$uri;
      proxy_intercept_errors off;

      {proxy_cache}
      proxy_cache_valid 200 48h;
      proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
      proxy_cache_lock on;

      expires 1y;
      add_header Cache-Control public;
      {cors}
      add_header X-Cache-Status $upstream_cache_status;
      add_header X-Content-Type-Options nosniff;
      add_header Content-Security-Policy "default-src 'none'; form-action 'none'";
      {extra}
    }}
  }}
}}
"""
INDEX_HTML = b"<!doctype html><title>media</title><p>Welcome</p>\n"


def nginx_binary() -> str | None:
    """nginx from PATH or Debian's /usr/sbin (not on a normal user's PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


class MastodonProxyEdge:
    """One nginx process; ``configure(mode)`` reloads it (its cache zone and files stay)."""

    def __init__(self, root: Path, name: str, address: str, port: int, media_host: str,
                 store: str, bucket: str, cert_file: Path, key_file: Path,
                 http2: bool = True) -> None:
        self.dir = root / name
        self.http2 = http2  # as Mastodon's documented block; off: HTTP/1.1 only (the bench)
        self.address, self.port, self.media_host = address, port, media_host
        self.store, self.bucket = store, bucket  # store: host:port of the S3 server
        self.cert_file, self.key_file = cert_file, key_file
        self.mode = "healthy"
        self.generation = 0
        self._silent: socket.socket | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        for sub in ("tmp", "cache", "html"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "html" / "index.html").write_bytes(INDEX_HTML)
        for path in (root, self.dir, *(self.dir / s for s in ("tmp", "cache", "html"))):
            path.chmod(0o777)  # nginx's workers drop privileges when started as root
        for path in (cert_file, key_file):
            path.chmod(0o644)

    def _write(self) -> None:
        if self.mode not in MODES:
            raise LabError(f"unknown nginx edge mode {self.mode!r}; known: {', '.join(MODES)}")
        typo = self.bucket[:-1] + "x"  # one letter off, like a misspelt S3_BUCKET
        store = {"origin_down": f"127.0.0.1:{closed_port()}",
                 "origin_hangs": self._silent_store()}.get(self.mode, self.store)
        try_files = {"storage_off": "try_files $uri =404;",
                     "catch_all": "try_files $uri /index.html;"}.get(self.mode,
                                                                     "try_files $uri @s3;")
        (self.dir / "nginx.conf").write_text(CONFIG.format(
            dir=self.dir, address=self.address if ":" not in self.address
            else f"[{self.address}]", port=self.port, media_host=self.media_host,
            cert=self.cert_file, key=self.key_file, bucket=self.bucket, typo=typo,
            http2=" http2" if self.http2 else "",
            s3_host=S3_HOST, store=store, generation=self.generation, try_files=try_files,
            proxy_cache="# lab: no proxy_cache" if self.mode == "no_cache" else
            "proxy_cache CACHE;",
            backend_bucket=typo if self.mode == "bucket_misspelt" else self.bucket,
            cors="# lab: no Access-Control-Allow-Origin" if self.mode == "cors_missing"
            else "add_header 'Access-Control-Allow-Origin' '*';",
            h2_broken='if ($server_protocol = "HTTP/2.0") { return 502; }  # lab'
            if self.mode == "h2_broken" else "",
            extra={"wrong_type": "proxy_hide_header Content-Type; "
                                 "add_header Content-Type text/plain;  # lab",
                   "no_range": "max_ranges 0;  # lab",
                   "alt_svc_h3": f"add_header Alt-Svc 'h3=\":{self.port}\"; ma=86400';  # lab: "
                                 "nothing on UDP"}.get(self.mode, ""),
            host_bucket=typo if self.mode in ("host_misspelt", "bucket_misspelt")
            else self.bucket,
            user="user nobody nogroup;" if os.geteuid() == 0 else ""))

    def _silent_store(self) -> str:
        """A store that accepts connections (the kernel's backlog) and never answers."""
        if self._silent is None:
            self._silent = silent_listener()
        host, port = self._silent.getsockname()[:2]
        return f"{host}:{port}"

    def start(self, mode: str = "healthy") -> None:
        nginx = nginx_binary()
        if nginx is None:
            raise LabError("nginx is not installed (Debian: apt-get install nginx)")
        self.mode = mode
        self._write()
        self.proc = subprocess.Popen(
            [nginx, "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir),
             "-e", str(self.dir / "error.log")], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        self._wait_for_generation()

    def configure(self, mode: str) -> None:
        """Rewrite the configuration for ``mode`` and reload (SIGHUP) — the cache is kept,
        as on a real edge whose .env or site file changed."""
        assert self.proc is not None
        if mode != "origin_hangs" and self._silent is not None:
            # the hung store goes away: its waiting requests end (502), so the old workers,
            # which finish their requests before they quit, can go
            self._silent.close()
            self._silent = None
        self.mode = mode
        self.generation += 1
        self._write()
        old = self._children()
        self.proc.send_signal(signal.SIGHUP)
        self._wait_for_generation(old)

    def _wait_for_generation(self, old: frozenset[str] = frozenset()) -> None:
        """Until the new configuration answers and every process of the old one is gone:
        until nginx's master has told them to quit, old workers still accept connections."""
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # lab's own check only
        host = self.address if ":" not in self.address else f"[{self.address}]"
        url = f"https://{host}:{self.port}/edgeprobe-lab-generation"
        deadline = time.monotonic() + 15
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr \
                    else ""
                raise LabError(f"nginx exited: {err.strip()[:500]}")
            try:
                with urllib.request.urlopen(url, context=ctx, timeout=2) as answer:
                    if answer.read().decode() == str(self.generation) and \
                            not old & self._children():
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise LabError(f"nginx on {host}:{self.port} did not take generation "
                               f"{self.generation}: {(self.dir / 'error.log').read_text()[-500:]}")
            time.sleep(0.05)

    def _children(self) -> frozenset[str]:
        """The master's child processes (workers, cache manager and loader): Linux's /proc."""
        if self.proc is None:
            return frozenset()
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return frozenset(children.read_text().split())
        except OSError:
            return frozenset()

    def stop(self) -> None:
        stop(self.proc)
        if self._silent is not None:
            self._silent.close()
