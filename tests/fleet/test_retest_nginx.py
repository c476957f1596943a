"""Declared in the run that sees it, against real nginx: an edge broken before a run is
re-tested within the run, still broken, and the incident is declared there and then (state
file and GitHub issue); an edge that heals between the first try and the re-test is a
transient, and nobody is paged."""

from __future__ import annotations

import json

import pytest

from edgeprobe import config, pipeline, report
from edgeprobe.notify import notify
from edgeprobe.result.files import run_json
from tests.conftest import assert_healthy_not_blamed, blamed
from tests.fake_services import FakeServices
from tests.servers.nginx_fleet import FREMONT, NginxFleet


@pytest.fixture(scope="module", autouse=True)
def warm(fleet: NginxFleet) -> None:
    fleet.probe()  # every cache warm, as a live fleet's are


def test_an_edge_broken_before_the_run_is_declared_in_that_run(fleet, tmp_path):
    services = FakeServices().start()
    try:
        state = tmp_path / "state.json"
        pipeline.probe(config.load(fleet.probe_file(retests=2)), state=state)  # healthy
        fleet.edges[FREMONT].configure("storage_off")
        run = pipeline.probe(config.load(fleet.probe_file(retests=2)), state=state)
        assert run.incident and (run.incident.state, run.incident.change) == ("open",
                                                                             "declared")
        data = run_json(run)
        assert ("node_media_missing", FREMONT, "critical") in blamed(data)
        assert_healthy_not_blamed(data, {FREMONT})
        missing = next(f for f in data["findings"] if f["kind"] == "node_media_missing")
        assert missing["evidence"]["retest"]["confirmed"] is True
        assert missing["evidence"]["retest"]["after_s"] == [2.0, 12.0]
        assert json.loads(state.read_text())["incident"]["open"] is True
        path = tmp_path / "run.json"
        report.write(run, {"json": str(path)})
        notify(str(path), str(state), None, services.env())
        assert ("github", "POST", "issues") in services.take()  # the issue, opened now
    finally:
        fleet.edges[FREMONT].configure("healthy")
        services.stop()


def test_an_edge_healed_before_the_retest_is_a_transient(fleet, tmp_path):
    state = tmp_path / "state.json"
    fleet.edges[FREMONT].configure("storage_off")
    healed = []

    def heal_after_first_pass(done: int, total: int, _: object) -> None:
        if done == total and total and not healed:  # every first answer is in
            fleet.edges[FREMONT].configure("healthy")
            healed.append(done)

    try:
        run = pipeline.probe(config.load(fleet.probe_file(retests=2)), state=state,
                             progress=heal_after_first_pass)
    finally:
        fleet.edges[FREMONT].configure("healthy")
    assert healed
    data = run_json(run)
    assert blamed(data) == set()  # nobody blamed, nobody paged
    transient = next(f for f in data["findings"] if f["kind"] == "node_media_missing")
    assert transient["severity"] == "info" and "transient" in transient["summary"]
    assert transient["evidence"]["retest"]["confirmed"] is False
    assert transient["evidence"]["failed"] > 0  # the first answers, kept as evidence
    assert run.incident and run.incident.change is None
    assert next(n for n in data["nodes"] if n["name"] == FREMONT)["status"] == "healthy"
