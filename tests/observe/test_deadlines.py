"""Deadlines and interruptions: a dripping bucket endpoint cannot hold a run, one Ctrl-C
stops it cleanly (exit 130), and nothing is half-written."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import edgeprobe


class DripServer:
    """Answers every request with a status line, then one header byte every 0.5 s — what
    defeats per-read timeouts. Stops by itself after 120 s."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

        async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                for _ in range(240):
                    writer.write(b"x")
                    await writer.drain()
                    await asyncio.sleep(0.5)
            writer.close()

        async def start() -> int:
            self.server = await asyncio.start_server(drip, "127.0.0.1", 0)
            return self.server.sockets[0].getsockname()[1]

        self.port = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def drip():
    server = DripServer()
    yield server
    server.stop()


def _dripping_probe_file(lab, tmp_path, drip):
    text = lab.probe_file().read_text().replace(lab.lab.s3.endpoint,
                                                f"http://127.0.0.1:{drip.port}")
    text = text.replace("timeout_s = 20.0", "timeout_s = 2.0")
    path = tmp_path / "drip.toml"
    path.write_text(text)
    return path


@pytest.mark.timeout(60)
def test_a_dripping_bucket_endpoint_costs_one_deadline(lab, tmp_path, drip):
    start = time.monotonic()
    proc = edgeprobe("probe", "all", "-c", str(_dripping_probe_file(lab, tmp_path, drip)),
                     "--json", "-", timeout=60)
    assert time.monotonic() - start < 15  # was: held past 45 s with timeout_s = 2
    assert proc.returncode == 1, proc.stderr
    assert '"kind": "origin_unavailable"' in proc.stdout
    assert "did not answer in time" in proc.stdout


@pytest.mark.timeout(60)
def test_one_ctrl_c_stops_the_run_cleanly(lab, tmp_path, drip):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "edgeprobe", "probe", "all", "-c",
                             str(_dripping_probe_file(lab, tmp_path, drip)), "--json",
                             str(out / "run.json"), "--html", str(out / "r.html")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    time.sleep(1.5)  # the bucket check is dripping now
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    _, err = proc.communicate(timeout=20)
    assert time.monotonic() - start < 5
    assert proc.returncode == 130
    assert err.endswith("edgeprobe: interrupted; nothing was written\n")
    assert "Traceback" not in err
    assert not out.exists()


def _proc_status(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        lines = status.read().splitlines()
    for line in lines:
        name, _, rest = line.partition(":")
        if name in ("Threads", "VmRSS"):
            fields[name] = int(rest.split()[0])
    return fields


def _runs_done(port: int) -> int:
    import re
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    except OSError:
        return 0
    return int(sum(float(m) for m in re.findall(r'^edgeprobe_runs_total\{result="\w+"\} (\S+)',
                                               text, re.M)))


@pytest.mark.timeout(120)
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads Linux's /proc")
def test_serve_against_a_dripping_bucket_keeps_threads_and_memory_flat(lab, tmp_path, drip):
    """Every run's bucket calls hang on the drip until their deadline. 0.2 abandoned two
    stuck threads, each with its own boto3 client (~28 MB), every run: serve's memory grew
    to its unit's MemoryMax. Now one client per process, and a purpose whose call is still
    stuck is refused at once (a finding), not given another thread."""
    from edgeprobe.lab.processes import closed_port

    port = closed_port()
    proc = subprocess.Popen([sys.executable, "-m", "edgeprobe", "serve", "-c",
                             str(_dripping_probe_file(lab, tmp_path, drip)), "--listen",
                             f"127.0.0.1:{port}", "--interval", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def after(runs: int) -> dict[str, int]:
            deadline = time.monotonic() + 60
            while _runs_done(port) < runs:
                assert proc.poll() is None and time.monotonic() < deadline, "serve stalled"
                time.sleep(0.2)
            return _proc_status(proc.pid)

        early = after(2)
        late = after(7)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert late["Threads"] <= early["Threads"] + 2, (early, late)
    assert late["VmRSS"] <= early["VmRSS"] + 30_000, (early, late)  # kB: no client per run
