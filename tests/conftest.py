"""Shared fixtures: one real lab fleet per test session, reset after every test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from edgeprobe import config, pipeline
from edgeprobe.lab.thread import LabThread, running_lab
from edgeprobe.pipeline import Scope
from edgeprobe.report import reporter
from edgeprobe.result.files import parse_run, run_json
from edgeprobe.vocabulary import BLAMING

ROOT = Path(__file__).resolve().parent.parent
# 0.2's incident rules (seen once is confirmed, one healthy run resolves), no in-run re-test:
# for the tests of notifications, which count runs
RULES_02 = "confirm_runs = 1\nretests = 0\nresolve_after = 1"
# The fixtures that start real servers: a test that uses one is marked `lab`, so
# `pytest -m "not lab"` runs the pure tests alone, in seconds.
REAL_SERVERS = {"lab", "lab_thread", "fleet", "browser", "nginx_fleet", "gdnsd_server"}


def pytest_configure(config: pytest.Config) -> None:
    # Tests never leave loopback: botocore must not ask the instance-metadata address
    # (169.254.169.254) for credentials when a test has none.
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    # A suite started in the background by a shell without job control inherits SIGINT
    # ignored, and so would every edgeprobe it starts (Python keeps an inherited SIG_IGN):
    # the tests that press Ctrl-C on one need it delivered.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & REAL_SERVERS or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab_thread():
    with running_lab() as thread:
        yield thread


@dataclass
class LabHandle:
    """The running lab plus the verbs tests use: break a node, probe, run the CLI."""

    thread: LabThread

    @property
    def lab(self) -> Any:
        return self.thread.lab

    def fault(self, node: str, *faults: str) -> None:
        self.thread.call(self.lab.set_faults(node, *faults))

    def delete(self, key: str) -> None:
        self.thread.call(self.lab.delete_object(key))

    def probe_file(self, name: str = "test.toml", **toml: Any) -> Path:
        # a deadline far above what a busy CI machine adds to a healthy lab answer (the lab
        # and the prober share this process); tests of deadlines set their own
        toml.setdefault("probe", "timeout_s = 20.0")
        # one look per run: the in-run re-test (12 s for a lasting fault) has its own tests
        # (tests/fleet/test_retest_nginx.py, tests/incident/test_replay.py)
        toml.setdefault("incident", "retests = 0")
        return self.lab.write_probe(name, **toml)

    def probe(self, *, node: str | None = None, region: str | None = None,
              **toml: Any) -> dict[str, Any]:
        """The run result as its JSON object (what tests assert on)."""
        settings = config.load(self.probe_file(**toml))
        return run_json(pipeline.probe(settings, Scope.of(node, region)))


@pytest.fixture
def lab(lab_thread):
    handle = LabHandle(lab_thread)
    yield handle
    lab_thread.call(lab_thread.lab.reset())


def render(fmt: str, run: dict[str, Any], **options: Any) -> str:
    """A run's JSON object rendered as ``fmt`` (reporters take the typed RunResult)."""
    return reporter(fmt, **options).render(parse_run(run))


def blamed(run: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(kind, target, severity) of every warning or critical finding."""
    return {(f["kind"], f["target"], f["severity"]) for f in run["findings"]
            if f["severity"] in BLAMING}


def assert_healthy_not_blamed(run: dict[str, Any], broken: set[str]) -> None:
    """Every node not in ``broken`` is healthy and no warning/critical finding targets it."""
    for node in run["nodes"]:
        if node["name"] not in broken:
            assert node["status"] == "healthy", node
    targets = {f["target"] for f in run["findings"] if f["severity"] in BLAMING}
    assert not (targets & ({n["name"] for n in run["nodes"]} - broken)), run["findings"]


def edgeprobe(*args: str, env: dict[str, str] | None = None, timeout: float = 90,
              cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "edgeprobe", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env, cwd=cwd)
