"""One lab edge: an HTTPS server that proxies /system/<key> to the bucket like Mastodon's
documented nginx proxy (Cache-Control, X-Cache-Status, hidden x-amz-* headers), with faults."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from edgeprobe.lab.certs import LabCerts

# Every fault a node can be given (see docs/lab.md for what each one imitates).
FAULTS = {
    "s3_disabled": "S3_ENABLED is not 'true': the node looks on local disk, 404 for all media",
    "bucket_misspelt": "the bucket name misspelt in the proxy's backend URL: the bucket answers "
                       "NoSuchBucket, passed on as 404 (a new cache key: nothing cached helps)",
    "bucket_misspelt_host": "the bucket name misspelt in the Host header only: NoSuchBucket for "
                            "everything not cached (the cache key is unchanged)",
    "origin_down": "the bucket unreachable from the edge: cached objects still served, "
                   "502 for the rest",
    "catch_all": "a fallback page (200) for every file the bucket does not have",
    "never_caches": "no proxy_cache: every request goes to the bucket, and no cache header "
                    "at all (as nginx without a proxy_cache line)",
    "access_denied": "the proxy reaches a private bucket: 403 AccessDenied XML (DO Spaces)",
    "502": "the upstream is broken: 502 for every request",
    "502_some": "a flaky upstream: 502 for every fourth request (25%)",
    "stale": "serves an old copy: same size, different bytes",
    "truncated": "serves the first half of every object",
    "slow": "waits slow_delay_s before answering",
    "down": "nothing listens: connection refused",
    "wrong_cert": "a trusted certificate for another name",
    "expired_cert": "the media host's certificate, expired yesterday",
    "cert_expiring": "the media host's certificate, valid, expiring in two days",
    "no_dns": "the node's name has no DNS record (NXDOMAIN)",
    "dns_servfail": "the nameserver answers SERVFAIL for the node's name",
    "dns_timeout": "the nameserver never answers for the node's name",
    "no_cache_headers": "drops Cache-Control",
    "endless": "an endless body for every object",
    "drip": "a slow drip: one byte every 0.2 s",
    "redirect_loop": "302 to the same URL, forever",
    "garbage_headers": "answers with bytes that are not HTTP",
    "hostile": "404 whose Server header, ETag and body carry HTML/script payloads",
    "root_layout": "serves keys at the media host's root (Mastodon's documented proxy, "
                   "S3_ALIAS_HOST sites): /system/<key> is a missing key",
    "cors_missing": "no Access-Control-Allow-Origin: the web UI's media break in browsers",
    "wrong_type": "serves every object as text/plain (with nosniff: browsers show nothing)",
    "no_range": "ignores Range (nginx max_ranges 0): 200 and the whole object, so Safari "
                "and iOS cannot play video",
    "alt_svc_h3": "advertises HTTP/3 (Alt-Svc: h3) with nothing listening on UDP",
    "hostile_headers": "serves the right bytes, with a Cache-Control that carries terminal "
                       "escapes, chat mentions and workflow commands",
}
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
# What an attacker who controls an edge's headers would try on each place a value is shown:
# a terminal (escapes, a hyperlink, BEL), chat (@everyone, <!channel>, a disguised link),
# GitHub (@mentions) and the Actions log (a workflow command at a line start, ##[ anywhere).
HOSTILE_CACHE_CONTROL = (
    "public, max-age=60 \x1b[2J\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 @everyone "
    "@octocat <!channel> <https://evil.example/|update your password> ::error title=forged::"
    "owned ##[error]owned")
NGINX_404 = (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 "
             b"Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
NGINX_502 = NGINX_404.replace(b"404 Not Found", b"502 Bad Gateway")
ACCESS_DENIED = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                 b"<BucketName>lab-media</BucketName><RequestId>tx0000lab</RequestId></Error>")
CATCH_ALL = b"<!doctype html><title>media</title><p>Welcome</p>\n"
PASSED_HEADERS = ("Content-Type", "ETag", "Last-Modified", "Cache-Control")


@dataclass(frozen=True)
class Cached:
    """One cached 200: the headers passed from the bucket, and the bytes."""

    headers: dict[str, str]
    body: bytes


@dataclass
class EdgeState:
    """What one edge needs; ``faults`` may change while it runs (read on every request)."""

    name: str
    upstream: str  # http://moto/bucket
    client: aiohttp.ClientSession
    faults: set[str] = field(default_factory=set)
    slow_delay_s: float = 0.8
    cache: dict[str, Cached] = field(default_factory=dict)  # kept across restarts, like disk
    counter: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def headers(self) -> dict[str, str]:
        return {"Server": "nginx", "Access-Control-Allow-Origin": "*",
                "X-Content-Type-Options": "nosniff"}


EDGE = web.AppKey("edge", EdgeState)


def _error(status: int, body: bytes, state: EdgeState, ctype: str = "text/html") -> web.Response:
    return web.Response(status=status, body=body, content_type=ctype, headers=state.headers)


async def handle(request: web.Request) -> web.StreamResponse:
    state = request.app[EDGE]
    faults = state.faults
    if "slow" in faults:
        await asyncio.sleep(state.slow_delay_s)
    prefix = "/" if "root_layout" in faults else "/system/"
    if not request.path.startswith(prefix) or "s3_disabled" in faults:
        return _error(404, NGINX_404, state)
    if "hostile" in faults:
        return web.Response(status=404, text=f"<h1>not here</h1>{HOSTILE}",
                            headers={"Server": f"nginx {HOSTILE}", "ETag": f'"{HOSTILE}"',
                                     "Content-Type": "text/html"})
    if "502" in faults or ("502_some" in faults and next(state.counter) % 4 == 3):
        return _error(502, NGINX_502, state)
    if "redirect_loop" in faults:
        return web.Response(status=302, headers={**state.headers, "Location": str(request.url)})
    if "access_denied" in faults:
        return _error(403, ACCESS_DENIED, state, "application/xml")
    key = request.path[len(prefix):]
    # Mastodon's proxy_pass holds variables ($s3_backend$uri): nginx keys its cache on the
    # evaluated upstream URL, without the query string (tests/servers/nginx.py shows it on nginx)
    backend = state.upstream + ("x" if "bucket_misspelt" in faults else "")
    cache_key = f"{backend}/{key}"
    cached = state.cache.get(cache_key)
    status = "HIT"
    if cached is None:
        misspelt = "bucket_misspelt" in faults or "bucket_misspelt_host" in faults
        upstream = state.upstream + ("x" if misspelt else "")
        if "origin_down" in faults:
            return _error(502, NGINX_502, state)
        async with state.client.get(f"{upstream}/{key}") as up:
            if up.status == 404 and "catch_all" in faults:
                return web.Response(status=200, body=CATCH_ALL, content_type="text/html",
                                    headers=state.headers)
            if up.status != 200:  # nginx passes the bucket's error through (no intercept)
                return _error(up.status, await up.read(), state, up.content_type)
            passed = {n: up.headers[n] for n in PASSED_HEADERS if n in up.headers}
            cached = Cached(passed, await up.read())  # lab objects are small (≤ 2 MB)
        if "never_caches" not in faults:
            state.cache[cache_key] = cached  # proxy_cache_valid 200 48h
        status = "MISS"
    return await _send(request, state, cached, status)


async def _send(request: web.Request, state: EdgeState, cached: Cached,
                status: str) -> web.StreamResponse:
    faults = state.faults
    headers = {**state.headers, **cached.headers, "X-Cache-Status": status}
    if "cors_missing" in faults:
        del headers["Access-Control-Allow-Origin"]
    if "wrong_type" in faults:
        headers["Content-Type"] = "text/plain"
    if "alt_svc_h3" in faults:
        port = request.url.port or 443
        headers["Alt-Svc"] = f'h3=":{port}"; ma=86400'
    body = cached.body
    if "stale" in faults:  # an old copy: same size, other bytes
        body = body[:64] + bytes(b ^ 0xFF for b in body[64:96]) + body[96:]
    if "truncated" in faults:
        body = body[: len(body) // 2]
    span = _range(request.headers.get("Range"), len(body))
    if span is not None and "no_range" not in faults and not faults & _BODY_FAULTS:
        first, last = span  # nginx's range filter (max_ranges unset): one range, 206
        return web.Response(status=206, body=body[first:last + 1], headers={
            **headers, "Content-Range": f"bytes {first}-{last}/{len(body)}"})
    if "never_caches" in faults:  # no proxy_cache: $upstream_cache_status is empty, not sent
        del headers["X-Cache-Status"]
    if "no_cache_headers" in faults:
        headers.pop("Cache-Control", None)
    resp = web.StreamResponse(status=200, headers=headers)
    if "endless" not in faults:
        resp.content_length = len(cached.body) if "drip" in faults else len(body)
    await resp.prepare(request)
    if "endless" in faults or "drip" in faults:
        chunk, pause = (b"\0" * 65536, 0.0) if "endless" in faults else (b"\0", 0.2)
        # until the client hangs up (asyncio only logs send errors, so check the transport)
        while request.transport is not None and not request.transport.is_closing():
            await resp.write(chunk)
            await asyncio.sleep(pause)
        return resp
    for start in range(0, len(body), 65536):
        await resp.write(body[start:start + 65536])
    await resp.write_eof()
    return resp


_BODY_FAULTS = {"endless", "drip"}  # these stream whole bodies only


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """``bytes=A-B`` (one range, within the body) → (A, B); anything else: None (serve
    the whole body, as nginx does for what it cannot satisfy simply)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        return None
    a, b = int(first), int(last) if last else size - 1
    return (a, min(b, size - 1)) if a <= b and a < size else None


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Not HTTP: a status line, then header bytes no parser accepts."""
    with contextlib.suppress(Exception):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: banana\r\nX-\x00\x01: \xff\xfe\r\n\r\n")
        await writer.drain()
    writer.close()


def _hostile_headers(state: EdgeState) -> Any:
    """A raw HTTP/1.1 server (aiohttp's own refuses control characters in headers, as a
    hostile edge does not) that serves each object's real bytes with HOSTILE_CACHE_CONTROL."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode("latin-1")
                key = path.split("?")[0][len("/system/"):]
                async with state.client.get(f"{state.upstream}/{key}") as up:
                    body = await up.read()
                    status, ctype = up.status, up.content_type
                asked = next((line[6:].strip() for line in head.decode("latin-1").split("\r\n")
                              if line.lower().startswith("range:")), None)
                span = _range(asked, len(body)) if status == 200 else None
                extra = ""
                if span is not None:  # the right bytes, ranges too: only the header is hostile
                    extra = f"\r\nContent-Range: bytes {span[0]}-{span[1]}/{len(body)}"
                    status, body = 206, body[span[0]:span[1] + 1]
                writer.write(f"HTTP/1.1 {status} X\r\nServer: nginx\r\nContent-Type: {ctype}"
                             f"\r\nAccess-Control-Allow-Origin: *{extra}"
                             f"\r\nContent-Length: {len(body)}\r\nCache-Control: "
                             f"{HOSTILE_CACHE_CONTROL}\r\n\r\n".encode("latin-1") + body)
                await writer.drain()
        writer.close()
    return serve


class Edge:
    """Start/stop one edge on (address, port); restarted whenever its faults change."""

    def __init__(self, state: EdgeState, address: str, port: int, contexts: LabCerts) -> None:
        self.state = state
        self.address = address
        self.port = port
        self.contexts = contexts
        self._runner: web.AppRunner | None = None
        self._raw: asyncio.AbstractServer | None = None

    def _ssl(self) -> ssl.SSLContext:
        if "wrong_cert" in self.state.faults:
            return self.contexts.wrong_name
        if "expired_cert" in self.state.faults:
            return self.contexts.expired
        if "cert_expiring" in self.state.faults:
            return self.contexts.expiring
        return self.contexts.good

    async def start(self) -> None:
        if "down" in self.state.faults:
            return
        raw = {"garbage_headers": _garbage, "hostile_headers": _hostile_headers(self.state)}
        for fault, handler in raw.items():
            if fault in self.state.faults:
                self._raw = await asyncio.start_server(handler, self.address, self.port,
                                                       ssl=self._ssl(), reuse_address=True)
                return
        app = web.Application()
        app[EDGE] = self.state
        app.router.add_route("*", "/{tail:.*}", handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.address, self.port, ssl_context=self._ssl(),
                          reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._raw is not None:
            self._raw.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._raw.wait_closed(), 1)
            self._raw = None
