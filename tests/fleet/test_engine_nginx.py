"""The fetch engine against real nginx speaking HTTP/2 (Mastodon's documented block)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

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


def _connections_to(port: int) -> int:
    """This process's established TCP connections to ``port`` (its sockets' inodes, found
    in the kernel's table): what libcurl's connection cache holds open right now."""
    mine = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                mine.add(link[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[3] == "01" and fields[9] in mine:
                    count += 1
    return count


def test_open_connections_stay_within_the_concurrency(fleet):
    """A node whose objects are done keeps no connection once others need the room: at 200
    edges one idle TLS connection each held ~0.3 MB for the whole run (docs/performance.md).
    Four edges, one transfer in flight, counted in the kernel's table as each result
    arrives: never more than two connections open (the next node's may open while libcurl
    still ends the last one's TLS), where all four stayed open without the bound."""
    if not Path("/proc/self/net/tcp").exists():
        pytest.skip("needs Linux's /proc to count connections")
    settings = config.load(fleet.probe_file(timeout_s=30.0))
    probe = replace(settings.probe, processes=0, concurrency=1)
    targets = [Target(name, (address,), fleet.port) for name, address in EDGES.items()]
    objects = [SampleObject(f"/{o.key}", o.key, "paths") for o in fleet.objects[:10]]
    seen: list[int] = []
    results = asyncio.run(fetch_all(settings.site, probe, targets, objects,
                                    on_result=lambda _: seen.append(_connections_to(fleet.port))))
    assert len(results) == len(objects) * len(EDGES)
    assert {r.node for r in results if r.status_code == 200} == set(EDGES)
    assert seen and max(seen) <= 2, seen
