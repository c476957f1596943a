"""Stage 4: GET every sampled object from every node, like ``curl --resolve``.

Each node gets its own connector whose resolver pins the media host to that node's
addresses, so the URL, Host header, TLS SNI and certificate check all use the media host
while the packets go to the node. aiohttp keys pooled connections by host name, so a
shared pool would silently send one node's requests to another: never share connectors.
Bodies are streamed through MD5 and a byte counter and never held whole.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import socket
import ssl
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from edgeprobe import __version__, defaults
from edgeprobe.errors import FetchError
from edgeprobe.fetch_errors import map_exception
from edgeprobe.observations import FetchResult, SampleObject, Target, Timing
from edgeprobe.repro import curl_command
from edgeprobe.settings import ProbeSettings, SiteSettings

CHUNK = 64 * 1024
OFFLOAD = 256 * 1024  # hash in a worker thread past this many bytes of one body
ERROR_BODY_READ = 64 * 1024  # read this much of a 4xx/5xx body so the connection can be reused
RECORDED_HEADERS = ("Cache-Control", "Age", "X-Cache-Status", "X-Cache", "X-Cached",
                    "Content-Type", "Content-Length", "ETag", "Last-Modified", "Server", "Via",
                    "Location")


class PinnedResolver(AbstractResolver):
    """Resolves the media host to one node's addresses and refuses every other name."""

    def __init__(self, host: str, addresses: Sequence[str]) -> None:
        self.host = host.lower()
        self.addresses = tuple(addresses)

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if host.lower() != self.host:
            raise OSError(f"edgeprobe only connects to {self.host}, not {host}")
        out: list[ResolveResult] = []
        for addr in self.addresses:
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            if family in (socket.AF_UNSPEC, fam):
                out.append(ResolveResult(hostname=host, host=addr, port=port, family=fam,
                                         proto=0, flags=socket.AI_NUMERICHOST))
        if not out:
            raise OSError(f"no address of family {family!r} for this node")
        return out

    async def close(self) -> None:
        return None


def make_ssl_context(site: SiteSettings) -> ssl.SSLContext | bool:
    """System trust store plus ``ca_file``; verification off only when asked."""
    if site.scheme != "https":
        return False
    ctx = ssl.create_default_context()
    if site.ca_file:
        ctx.load_verify_locations(cafile=site.ca_file)
    if not site.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def tls_verification(site: SiteSettings, address: str, port: int,
                           timeout_s: float) -> str | None:
    """What certificate verification would say of one address, for runs with verify_tls =
    false (so a wrong or expired certificate is still on record): None when it passes or
    when no handshake could be made at all (the fetch reports that)."""
    ctx = ssl.create_default_context()
    if site.ca_file:
        ctx.load_verify_locations(cafile=site.ca_file)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(
            address, port, ssl=ctx, server_hostname=site.media_host), timeout_s)
    except ssl.SSLCertVerificationError as exc:
        return f"certificate rejected: {exc.verify_message}"[:300]
    except (OSError, TimeoutError):
        return None
    writer.close()
    return None


def node_base_url(site: SiteSettings, port: int) -> str:
    default = 443 if site.scheme == "https" else 80
    host = site.media_host
    host = f"[{host}]" if ":" in host else host
    return f"{site.scheme}://{host}" + ("" if port == default else f":{port}")


def _trace_config() -> aiohttp.TraceConfig:
    """Connection set-up times, written into the dict passed as trace_request_ctx. Only the
    signals of a *new* connection are traced: per-request signals cost ~8% of a large run,
    and the first byte is timed in fetch_one itself. No conn_start means a reused one."""
    tc = aiohttp.TraceConfig()
    loop_time = asyncio.get_running_loop().time

    def mark(name: str) -> Callable[..., Any]:
        async def handler(_session: Any, ctx: Any, _params: Any) -> None:
            ctx.trace_request_ctx[name] = loop_time()
        return handler

    tc.on_connection_create_start.append(mark("conn_start"))
    tc.on_connection_create_end.append(mark("conn_end"))
    return tc


def _peer(resp: aiohttp.ClientResponse) -> str | None:
    conn = resp.connection
    if conn is None or conn.transport is None:
        return None
    peer = conn.transport.get_extra_info("peername")
    return str(peer[0]) if peer else None


def _pick_headers(resp: aiohttp.ClientResponse) -> dict[str, str]:
    out = {}
    for name in RECORDED_HEADERS:
        if name in resp.headers:
            value = ", ".join(resp.headers.getall(name))
            out[name] = value[: defaults.HEADER_VALUE_MAX]
    return out


@dataclass
class _Body:
    size: int = 0
    md5: str | None = None
    truncated: bool = False
    excerpt: str | None = None


async def _read_body(resp: aiohttp.ClientResponse, limit: int) -> _Body:
    """Stream a 2xx body through MD5; stop (and drop the connection) past ``limit``.

    Small bodies are hashed on the loop; past OFFLOAD bytes, MD5 runs in a worker thread
    (hashlib releases the GIL) on batches of at most OFFLOAD bytes, so memory stays bounded
    by concurrency × OFFLOAD whatever the object size.
    """
    loop = asyncio.get_running_loop()
    digest = hashlib.md5(usedforsecurity=False)
    body = _Body()
    batch: list[bytes] = []
    pending = 0
    async for chunk in resp.content.iter_chunked(CHUNK):
        body.size += len(chunk)
        if body.size > limit:
            body.truncated = True
            resp.close()
            break
        batch.append(chunk)
        pending += len(chunk)
        if pending >= OFFLOAD:
            await loop.run_in_executor(None, _update, digest, batch)
            batch, pending = [], 0
    if not body.truncated:
        _update(digest, batch)
        body.md5 = digest.hexdigest()
    return body


def _update(digest: Any, chunks: list[bytes]) -> None:
    for chunk in chunks:  # no b"".join: that would double the bytes held
        digest.update(chunk)


async def _read_error_body(resp: aiohttp.ClientResponse) -> _Body:
    data = await resp.content.read(ERROR_BODY_READ)
    if not resp.content.at_eof():
        resp.close()
    text = data[: defaults.BODY_EXCERPT_BYTES].decode("utf-8", "replace")
    return _Body(size=len(data), excerpt=text)


@dataclass
class _NodeClient:
    name: str
    session: aiohttp.ClientSession
    semaphore: asyncio.Semaphore
    base_url: str
    port: int
    addresses: tuple[str, ...]


async def _get(client: _NodeClient, url: str, probe: ProbeSettings,
               ctx: dict[str, float]) -> tuple[int, dict[str, str], str | None, _Body]:
    try:
        async with asyncio.timeout(probe.timeout_s), client.session.get(
                url, allow_redirects=False,
                trace_request_ctx=ctx) as resp:
            ctx["headers"] = asyncio.get_running_loop().time()
            peer = _peer(resp)
            headers = _pick_headers(resp)
            if 200 <= resp.status < 300:
                body = await _read_body(resp, probe.max_body_bytes)
            else:
                body = await _read_error_body(resp)
            return resp.status, headers, peer, body
    except Exception as exc:
        raise map_exception(exc, ctx) from exc


async def fetch_one(client: _NodeClient, obj: SampleObject, site: SiteSettings,
                    probe: ProbeSettings,
                    global_sem: asyncio.Semaphore, query: str = "") -> FetchResult:
    """One check; never raises for anything the remote side does."""
    loop = asyncio.get_running_loop()
    url = client.base_url + obj.path + query
    async with global_sem, client.semaphore:
        start = loop.time()
        ctx: dict[str, float] = {}
        try:
            status, headers, peer, body = await _get(client, url, probe, ctx)
        except FetchError as exc:
            end = loop.time()
            address = client.addresses[0] if len(client.addresses) == 1 else None
            return FetchResult(
                node=client.name, path=obj.path, url=url, address=address,
                error_kind=exc.kind, error=str(exc),
                timing=_timing(ctx, start, end),
                curl=curl_command(site, client.port, address or client.addresses[0],
                                  url))
        end = loop.time()
    if peer is None and len(client.addresses) == 1:  # released early (small body): no doubt
        peer = client.addresses[0]
    return FetchResult(
        node=client.name, path=obj.path, url=url, address=peer, status_code=status,
        size=body.size, md5=body.md5, truncated=body.truncated, headers=headers,
        body_excerpt=body.excerpt, timing=_timing(ctx, start, end),
        curl=curl_command(site, client.port, peer or client.addresses[0], url))


def _timing(ctx: dict[str, float], start: float, end: float) -> Timing:
    def ms(t: float | None) -> float | None:
        return None if t is None else round((t - start) * 1000, 2)

    return Timing(connect_ms=ms(ctx.get("conn_end")), first_byte_ms=ms(ctx.get("headers")),
                  total_ms=ms(end))


def connections_per_node(probe: ProbeSettings, nodes: int) -> int:
    """per_node_concurrency, but no more than each node's share of the global concurrency:
    a pooled TLS connection holds ~256-512 KiB in Python 3.11's asyncio, so open
    connections (nodes × this) must stay near ``concurrency``, not grow with the fleet."""
    share = probe.concurrency // max(1, nodes)
    return max(1, min(probe.per_node_concurrency, share))


async def fetch_all(site: SiteSettings, probe: ProbeSettings, targets: Sequence[Target],
                    objects: Sequence[SampleObject],
                    on_result: Callable[[FetchResult], None] | None = None) -> list[FetchResult]:
    """Every object from every target; bounded globally and per node."""
    ssl_ctx = make_ssl_context(site)
    per_node = connections_per_node(probe, len(targets))
    global_sem = asyncio.Semaphore(probe.concurrency)
    trace = _trace_config()
    async with AsyncExitStack() as stack:
        clients = []
        for target in targets:
            port = target.port
            connector = aiohttp.TCPConnector(
                resolver=PinnedResolver(site.media_host, target.addresses),
                use_dns_cache=False, limit=per_node, ssl=ssl_ctx)
            session = await stack.enter_async_context(aiohttp.ClientSession(
                connector=connector, auto_decompress=False, trace_configs=[trace],
                timeout=aiohttp.ClientTimeout(total=None),
                headers={"User-Agent": f"edgeprobe/{__version__}"}))
            clients.append(_NodeClient(target.node, session, asyncio.Semaphore(per_node),
                                       node_base_url(site, port), port, target.addresses))

        # nginx keys its cache on the request URI *with* the query string but sends $uri
        # upstream without it: a fresh query makes every edge go to the bucket this run
        query = (f"?{defaults.CACHE_BUST_PARAM}={secrets.token_hex(6)}"
                 if probe.cache_bust else "")

        async def run(client: _NodeClient, obj: SampleObject) -> FetchResult:
            result = await fetch_one(client, obj, site, probe, global_sem, query)
            if on_result:
                on_result(result)
            return result

        # object-major order, so the global limit is shared fairly between nodes
        return list(await asyncio.gather(*(run(c, o) for o in objects for c in clients)))
