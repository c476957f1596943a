"""The fetch in worker processes (observe/worker.py) against the real lab fleet: the same
findings as in a thread, the probing process fetching its own share beside them, a worker
that dies loses no check, a cancelled fetch leaves no process behind, and a small fetch (or
one on a single core) stays in the probing process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from edgeprobe import config, pipeline
from edgeprobe.config.settings import ProbeSettings
from edgeprobe.observe import fetch, worker
from edgeprobe.observe.observations import SampleObject
from edgeprobe.observe.resolve import resolve_all
from edgeprobe.observe.targets import node_targets
from edgeprobe.pipeline import Scope
from edgeprobe.result.files import run_json
from tests.conftest import assert_healthy_not_blamed, blamed
from tests.spies import followups_asked_after

BROKEN = {"cdn-fremont-1": "s3_disabled", "cdn-ashburn-1": "wrong_cert",
          "cdn-frankfurt-1": "truncated"}


def _workers() -> list[int]:
    """This process's children that are fetch workers (read from /proc: Linux). The
    workers are started from the event loop's thread; other threads (asyncio's child
    watchers, the executor's) come and go, and one may end between the listing of the
    tasks and the read of its ``children`` (a busy CI machine saw it): skipped."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            pids = task.read_text().split()
        except OSError:
            continue
        for pid in pids:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"edgeprobe.observe.worker" in cmdline:
                found.append(int(pid))
    return found


@pytest.fixture
def spied(monkeypatch):
    """Every fetch may use processes (PER_PROCESS 1, four cores whatever the machine has),
    and each worker.run call is recorded: the nodes each of its processes was given."""
    monkeypatch.setattr(fetch, "PER_PROCESS", 1)
    monkeypatch.setattr(fetch, "cores", lambda: 4)
    calls: list[list[set[str]]] = []
    real = worker.run

    async def run(site, probe, groups, cainfo, done, then=None) -> None:  # type: ignore[no-untyped-def]
        calls.append([{t.target.node for t in group} for group in groups])
        await real(site, probe, groups, cainfo, done, then)

    monkeypatch.setattr(worker, "run", run)
    return calls


def _verdicts(run: dict[str, Any]) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {(node, o["path"]): (r["verdict"], r["status_code"], r["md5"], r["size"])
            for o in run["objects"] for node, r in o["results"].items()}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_workers_judge_as_the_thread_does(lab, spied, monkeypatch):
    asked_after = followups_asked_after(monkeypatch)
    for node, fault in BROKEN.items():
        lab.fault(node, fault)
    in_thread = lab.probe(probe="timeout_s = 20.0\nprocesses = 0")
    assert spied == []
    in_workers = lab.probe(probe="timeout_s = 20.0\nprocesses = 2")
    assert spied and len(spied[0]) == 2
    # the probing process fetched a share of its own: nodes no worker was given
    in_workers_nodes = set().union(*spied[0])
    here = {n["name"] for n in in_workers["nodes"]} - in_workers_nodes
    assert here and in_workers_nodes and all(n["checks"] for n in in_workers["nodes"])
    assert blamed(in_workers) == blamed(in_thread)
    assert {t for _, t, _ in blamed(in_workers)} == set(BROKEN)
    assert _verdicts(in_workers) == _verdicts(in_thread)
    # each node's browser checks (the lab's: Range), planned and asked where its GETs were
    # fetched, in the workers too: none left for after the fetch
    assert {n["name"]: n["browser"] for n in in_workers["nodes"]} \
        == {n["name"]: n["browser"] for n in in_thread["nodes"]}
    assert asked_after == []
    # each node's certificate is recorded in whichever process fetched it
    assert {n["name"]: (n.get("certificate") or {}).get("sha256") for n in in_workers["nodes"]} \
        == {n["name"]: (n.get("certificate") or {}).get("sha256") for n in in_thread["nodes"]}
    assert_healthy_not_blamed(in_workers, set(BROKEN))
    assert _workers() == []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_a_worker_that_dies_loses_no_check(lab, spied, monkeypatch):
    """SIGKILL every worker after the first result: what they had not sent is fetched again
    in the probing process, and the run is the same as a healthy one — the browser checks
    of the dead worker's nodes too, asked after the fetch."""
    monkeypatch.setattr(worker, "BATCH", 1)
    asked_after = followups_asked_after(monkeypatch)
    lab.fault("cdn-fremont-1", "s3_disabled")
    killed: list[int] = []

    def progress(done: int, total: int, result: object) -> None:
        if done >= 1 and not killed:
            killed.extend(_workers())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    settings = config.load(lab.probe_file(probe="timeout_s = 20.0\nprocesses = 2"))
    run = run_json(pipeline.probe(settings, Scope.all(), progress=progress))
    assert killed, "no worker process was running"
    assert all(n["checks"] == len(lab.lab.paths) for n in run["nodes"])
    assert asked_after and set(asked_after) <= set().union(*spied[0])
    assert all(n["browser"]["range"] == "ok" for n in run["nodes"]
               if n["name"] != "cdn-fremont-1")
    assert {t for _, t, _ in blamed(run)} == {"cdn-fremont-1"}
    assert_healthy_not_blamed(run, {"cdn-fremont-1"})


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_a_cancelled_fetch_leaves_no_worker(lab, spied):
    lab.fault("cdn-fremont-1", "slow")  # 5 s an answer: the fetch runs ~10 s more
    settings = config.load(lab.probe_file(probe="timeout_s = 20.0\nprocesses = 2"))

    async def go() -> tuple[list[int], float]:
        targets = node_targets(settings, await resolve_all(settings.dns, settings.nodes))
        objects = [SampleObject(p, p.lstrip("/"), "paths") for p in lab.lab.paths]
        task = asyncio.create_task(fetch.fetch_all(settings.site, settings.probe, targets,
                                                   objects))
        for _ in range(200):  # until the workers are up
            await asyncio.sleep(0.05)
            if _workers():
                break
        running = _workers()
        task.cancel()
        cancelled = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        return running, time.monotonic() - cancelled

    running, took = asyncio.run(go())
    assert running, "no worker process was running"
    assert took < 4.0, f"the cancelled fetch waited {took:.1f} s for its workers"
    assert _workers() == []
    for pid in running:  # reaped, not left as zombies
        assert not Path(f"/proc/{pid}").exists()


def test_a_small_fetch_stays_in_the_process(monkeypatch):
    """One fetching process per PER_PROCESS transfers, never more than the cores: the
    probing process is the first (so a worker needs twice PER_PROCESS, and one core none)."""
    probe = ProbeSettings(processes=2)
    monkeypatch.setattr(fetch, "cores", lambda: 8)
    assert fetch.processes(probe, 2 * fetch.PER_PROCESS - 1) == 0
    assert fetch.processes(probe, 2 * fetch.PER_PROCESS) == 1
    assert fetch.processes(probe, 10 * fetch.PER_PROCESS) == 2
    assert fetch.processes(ProbeSettings(processes=0), 10_000) == 0
    monkeypatch.setattr(fetch, "cores", lambda: 2)
    assert fetch.processes(probe, 10 * fetch.PER_PROCESS) == 1
    monkeypatch.setattr(fetch, "cores", lambda: 1)
    assert fetch.processes(probe, 10 * fetch.PER_PROCESS) == 0
    assert fetch.cores() >= 1


def test_a_worker_starts_light():
    """What the child imports (each interpreter's memory is paid once per worker), its job
    read — the browser checks' planner included: libcurl, but not asyncio, the TOML reader,
    Python's ssl (a second OpenSSL beside pycurl's, ~5 MB), botocore or click."""
    import pickle

    from edgeprobe.config.settings import SiteSettings
    from edgeprobe.observe.followup import FollowOn, Planner

    site, probe = SiteSettings(name="x", media_url="https://media.example"), ProbeSettings()
    then = FollowOn(Planner((), True, True, False), site, probe, None, ("a",), 0)
    job = pickle.dumps((site, probe, None, [], then))
    code = ("import pickle, sys, edgeprobe.observe.worker; pickle.loads(sys.stdin.buffer.read()); "
            "print(sorted(m for m in ('asyncio', 'tomllib', 'ssl', 'botocore', 'click', "
            "'jinja2') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], input=job, capture_output=True,
                          check=True)
    assert proc.stdout.decode().strip() == "[]"
