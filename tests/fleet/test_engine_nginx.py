"""The fetch engine against real nginx speaking HTTP/2 (Mastodon's documented block)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from edgeprobe import config
from edgeprobe.observe import engine
from edgeprobe.observe.fetch import fetch_all
from edgeprobe.observe.observations import SampleObject, Target
from tests.servers.nginx_fleet import EDGES


def test_big_http2_bodies_never_wait_on_a_quiet_socket(fleet, monkeypatch):
    """libcurl reads HTTP/2 frames and TLS records ahead of the transfer that wants them: the
    engine must ask libcurl's own timer before it waits on the sockets, or a big body stalls
    a whole SELECT_S at its end (seen: about one fetch in three of 180 KB to 2 MB bodies
    stalled 0.5 s, and timed out once SELECT_S passed the request's deadline). With SELECT_S
    at 20 s, a stall cannot hide in a busy machine's noise, and nine fetches cannot all
    miss it."""
    monkeypatch.setattr(engine, "SELECT_S", 20.0)
    settings = config.load(fleet.probe_file(timeout_s=60.0))
    targets = [Target(name, (address,), fleet.port) for name, address in EDGES.items()]
    for big in sorted(fleet.objects, key=lambda o: -o.size_hint)[:3]:
        obj = SampleObject(f"/{big.key}", big.key, "paths")
        for _ in range(3):  # the first fills the edges' caches, the rest are served from them
            started = time.monotonic()
            results = asyncio.run(fetch_all(settings.site, replace(settings.probe, processes=0),
                                            targets, [obj]))
            took = time.monotonic() - started
            assert [(r.status_code, r.protocol) for r in results] == [(200, "h2")] * len(EDGES)
            assert len({r.md5 for r in results}) == 1 and results[0].size > 150_000
            assert took < 8.0, f"{took:.1f} s: the engine slept on a socket holding no news"
