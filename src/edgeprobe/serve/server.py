"""`edgeprobe serve`: probe the fleet on a timer and serve the latest run to Prometheus,
browsers and scripts (docs/cli.md, docs/metrics.md).

    /metrics   the latest complete run as metrics (OpenMetrics or the classic text, by Accept)
    /          the latest HTML report          /run.json   the latest run result
    /healthz   200 while runs run; 503 with the reason when the last one could not
    /probe?node=NAME   one node probed now (the multi-target exporter pattern), only with
                       [serve] probe_endpoint = true: one at a time, rate-limited

Every run goes through the pipeline, one at a time (a lock: a timer run and a /probe never
overlap). A run replaces the served one only once complete — metrics, report and JSON
together — so a scrape during a run gets the previous run, never half of one. A run that
cannot run (a ProbeError, a bug) is a metric, a log line and /healthz 503, never a dead
server. SIGTERM, SIGINT or SIGHUP lets the current run finish its writes, then exits 0; a
second signal ends it at once. Its temporary state is removed on every way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from edgeprobe.config.settings import Settings
from edgeprobe.errors import EdgeprobeError
from edgeprobe.pipeline import Scope, probe_async
from edgeprobe.result.types import RunResult
from edgeprobe.serve.metrics import RunCollector, ServerState

JITTER = 0.1  # each wait is interval_s ± 10%: several probers do not beat in step
# 1,100 half-open connections took 0.2's /metrics down (1,024 descriptors): at most this
# many connections, each ended after IDLE_S without a request
MAX_CONNECTIONS = 256
IDLE_S = 15.0


@dataclass(frozen=True)
class Served:
    """One complete run, rendered once: what the endpoints hand out until the next."""

    run: RunResult
    html: bytes
    json: bytes


def _log(message: str) -> None:
    print(f"edgeprobe serve: {message}", file=sys.stderr, flush=True)


def _render(run: RunResult) -> Served:
    from edgeprobe.report import reporter

    return Served(run, reporter("html").render(run).encode(),
                  reporter("json").render(run).encode())


class Server:
    def __init__(self, settings: Settings, state_path: str | None, interval_s: float) -> None:
        self.settings, self.interval_s = settings, interval_s
        # incident state: the given file, else one kept for the process's life (a temp file)
        self._tmp = tempfile.TemporaryDirectory(prefix="edgeprobe-") if not state_path else None
        self.state_path = state_path or str(Path(self._tmp.name if self._tmp else ".") /
                                            "state.json")
        self.state = ServerState()
        self.served: Served | None = None
        self.lock = asyncio.Lock()
        self._adhoc: asyncio.Task[object] | None = None  # a /probe's handler, while it runs
        self._last_probe = -1e9
        self.stopping = asyncio.Event()
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(RunCollector(self.state))

    async def run_once(self) -> None:
        """One whole-fleet run; the served run changes only when it completes. A /probe
        in progress is cancelled: the schedule comes first."""
        if self._adhoc is not None:
            self._adhoc.cancel()
        async with self.lock:
            started = time.monotonic()
            try:
                run = await probe_async(self.settings, Scope.all(), state=self.state_path)
                served = await asyncio.to_thread(_render, run)
            except EdgeprobeError as exc:
                self._failed(str(exc))
                return
            except Exception as exc:  # a bug: say so, keep serving the last good run
                traceback.print_exc()
                self._failed(f"internal error ({type(exc).__name__}); see the log")
                return
            self.served = served
            now = time.time()
            self.state.run, self.state.last_error = run, None
            self.state.last_attempt = self.state.last_success = now
            self.state.runs["ok"] += 1
            _log(f"run ok in {time.monotonic() - started:.1f} s: {run.health}, "
                 f"{len(run.findings)} findings")

    def _failed(self, reason: str) -> None:
        self.state.last_attempt, self.state.last_error = time.time(), reason
        self.state.runs["failed"] += 1
        _log(f"run failed: {reason}")

    async def loop(self) -> None:
        while not self.stopping.is_set():
            await self.run_once()
            wait = self.interval_s * random.uniform(1 - JITTER, 1 + JITTER)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), wait)

    # -- endpoints ---------------------------------------------------------------------------
    async def metrics(self, request: web.Request) -> web.Response:
        return _metrics(self.registry, request)

    async def index(self, request: web.Request) -> web.Response:
        if self.served is None:
            return web.Response(status=503, text="no run has completed yet\n")
        return web.Response(body=self.served.html, content_type="text/html", charset="utf-8")

    async def run_json(self, request: web.Request) -> web.Response:
        if self.served is None:
            return web.Response(status=503, text="no run has completed yet\n")
        return web.Response(body=self.served.json, content_type="application/json")

    async def healthz(self, request: web.Request) -> web.Response:
        s = self.state
        if s.last_error is not None:
            return web.Response(status=503, text=f"the last run could not run: {s.last_error}\n")
        if s.run is None:
            return web.Response(status=503, text="starting: the first run has not finished\n")
        return web.Response(text=f"ok: last run {s.run.started_at} ({s.run.health})\n")

    async def probe_node(self, request: web.Request) -> web.Response:
        """One node now — only when ``[serve] probe_endpoint = true``; one at a time, at
        most one per ``probe_every_s``, never while a run runs; cancelled when its caller
        goes, and by the scheduled run, which it never delays."""
        serve = self.settings.serve
        if not serve.probe_endpoint:
            return web.Response(status=404, text="/probe is off: set [serve] probe_endpoint "
                                                 "= true in the probe file to enable it\n")
        name = request.query.get("node", "")
        names = [n.name for n in self.settings.nodes]
        if name not in names:
            return web.Response(status=404 if name else 400,
                                text=f"no node named {name!r}; nodes: {', '.join(names)}\n")
        wait = self._last_probe + serve.probe_every_s - time.monotonic()
        if self.lock.locked() or wait > 0:
            return web.Response(status=429, headers={"Retry-After": str(max(1, round(wait)))},
                                text="busy: a run is in progress or /probe was just used\n")
        self._last_probe = time.monotonic()
        async with self.lock:
            self._adhoc = asyncio.current_task()
            try:
                run = await probe_async(self.settings, Scope.node(name))
            except EdgeprobeError as exc:
                return web.Response(status=503, text=f"cannot probe {name}: {exc}\n")
            finally:
                self._adhoc = None
        registry = CollectorRegistry(auto_describe=True)
        registry.register(RunCollector(ServerState(run=run), server=False))
        return _metrics(registry, request)

    def app(self, host: str = "127.0.0.1") -> web.Application:
        app = web.Application(middlewares=[_known_hosts(host, self.settings.serve.hosts)])
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/", self.index)
        app.router.add_get("/run.json", self.run_json)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/probe", self.probe_node)
        return app


def _known_hosts(listen: str, names: tuple[str, ...]) -> Any:
    """Answer only requests whose Host names this server: its listen address, loopback's
    names, ``[serve] hosts``, and — listening on every address — any IP literal (scrapers
    by address). A DNS-rebinding page sends its own domain as Host: 421, nothing read."""
    import ipaddress

    known = {"localhost", "127.0.0.1", "::1", listen.strip("[]").lower(),
             *(n.lower() for n in names)}
    wildcard = listen.strip("[]") in ("0.0.0.0", "::")  # noqa: S104

    def ip_literal(name: str) -> bool:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    @web.middleware
    async def check(request: web.Request, handler: Any) -> web.StreamResponse:
        host = (request.host or "").lower()
        name = host[1:host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
        if name not in known and not (wildcard and ip_literal(name)):
            return web.Response(status=421, text="unknown Host: add it to [serve] hosts\n")
        response: web.StreamResponse = await handler(request)
        return response

    return check


def _metrics(registry: CollectorRegistry, request: web.Request) -> web.Response:
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(body=encoder(registry), headers={"Content-Type": content_type})


async def serve(settings: Settings, host: str, port: int, state_path: str | None,
                interval_s: float) -> None:
    """Serve until SIGTERM/SIGINT; the current run finishes first. Every path it will
    write is checked first: a server that could never save its state must not start and
    fail every run quietly."""
    from edgeprobe.fileio import check_state

    if state_path is not None:
        check_state(state_path)  # an OutputError: exit 2, before listening
    server = Server(settings, state_path, interval_s)
    try:
        await _serve(server, host, port, interval_s)
    finally:  # every way out, a second signal's included, leaves no temp state behind
        if server._tmp is not None:
            server._tmp.cleanup()


class _Refused(asyncio.Protocol):
    """A connection past MAX_CONNECTIONS: closed at once, never given a handler."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


async def _listen(runner: web.AppRunner, host: str, port: int) -> asyncio.Server:
    """The listening socket, with a cap on open connections (the idle ones end after
    IDLE_S, aiohttp's keep-alive timeout, which also runs before the first request)."""
    handlers = runner.server
    assert handlers is not None

    def protocol() -> asyncio.BaseProtocol:
        return _Refused() if len(handlers.connections) >= MAX_CONNECTIONS else handlers()

    loop = asyncio.get_running_loop()
    try:
        return await loop.create_server(protocol, host, port, reuse_address=True)
    except OSError as exc:
        raise EdgeprobeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


async def _serve(server: Server, host: str, port: int, interval_s: float) -> None:
    # handler_cancellation: a /probe whose caller hangs up stops probing; keepalive_timeout:
    # a connection that sends nothing (half-open, or idle between requests) ends
    runner = web.AppRunner(server.app(host), access_log=None, handle_signals=False,
                           handler_cancellation=True, keepalive_timeout=IDLE_S)
    await runner.setup()
    try:
        listener = await _listen(runner, host, port)
    except EdgeprobeError:
        await runner.cleanup()
        raise
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(server.loop())

    def on_signal() -> None:
        """The first SIGTERM, SIGINT or SIGHUP lets the current run finish its writes;
        a second one ends the server now (the run's state is then not saved)."""
        if server.stopping.is_set():
            _log("second signal: stopping now")
            task.cancel()
        server.stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, on_signal)
    _log(f"listening on http://{host}:{port}/ (runs every {interval_s:g} s)")
    await server.stopping.wait()
    _log("stopping: the current run finishes first")
    with contextlib.suppress(asyncio.CancelledError):
        await task
    listener.close()
    await runner.cleanup()
