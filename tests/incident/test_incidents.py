"""Incident state across runs, and notifications to stand-in GitHub/Discord/Slack servers."""

from __future__ import annotations

import json

import pytest

from edgeprobe import incident, report
from edgeprobe.config.settings import IncidentSettings
from edgeprobe.notify import issue_title, notify
from edgeprobe.result.files import parse_run, run_json
from tests.conftest import RULES_02, edgeprobe
from tests.fake_services import FakeServices

FREMONT, SEATTLE = "cdn-fremont-1", "cdn-seattle-1"


def _run(findings, t):
    return {"schema": "edgeprobe/run@1", "ok": not findings, "started_at": t, "duration_s": 1.0,
            "site": {"name": "lab", "media_url": "https://m"}, "nodes": [], "regions": [],
            "objects": [], "findings": [{"kind": "node_media_missing", "target": n, "scope": "node",
                                         "severity": "critical", "summary": f"{n} 404s",
                                         "evidence": {}} for n in findings]}


def _policy(confirm=2, resolve_after=1):
    """0.2's rules: seen in ``confirm`` runs, resolved by one healthy run."""
    return IncidentSettings(confirm_runs=confirm, resolve_after=resolve_after)


def _sequence(steps, confirm=2):
    state, out = incident.fresh_state("lab"), []
    for i, nodes in enumerate(steps):
        state, run = incident.advance(state, parse_run(_run(nodes, f"2026-11-26T14:{i:02d}:00Z")),
                                      _policy(confirm))
        out.append(run_json(run))
    return out


def test_transitions():
    runs = _sequence([[], ["blip"], [FREMONT], [FREMONT], [FREMONT, SEATTLE],
                      [FREMONT, SEATTLE], [], []])
    assert [(r["incident"]["state"], r["incident"]["change"]) for r in runs] == [
        ("none", None), ("pending", None), ("pending", None), ("open", "declared"),
        ("open", None), ("open", "updated"), ("resolved", "resolved"), ("none", None)]
    assert [f["state"] for f in runs[4]["findings"]] == ["ongoing", "new"]
    assert runs[4]["incident"]["since"] == "2026-11-26T14:02:00Z"
    assert runs[4]["incident"]["runs"] == 3
    assert [r["target"] for r in runs[2]["incident"]["resolved"]] == ["blip"]
    assert runs[6]["incident"]["resolved"][0]["state"] == "resolved"


def test_confirm_runs_one_declares_at_once():
    runs = _sequence([[FREMONT], []], confirm=1)
    assert runs[0]["incident"]["change"] == "declared"


@pytest.mark.parametrize(("content", "problem"), [
    ("{broken", "unreadable"), ('{"schema": "x"}', "not an edgeprobe state file"),
    ('{"schema": "edgeprobe/state@1", "site": "other", "findings": {}, "incident": {}}',
     "belongs to site 'other'"), ("[]", "not an edgeprobe state file")])
def test_corrupt_or_foreign_state_is_replaced(tmp_path, content, problem):
    path = tmp_path / "state.json"
    path.write_text(content)
    run, warning, save = incident.apply(parse_run(_run([FREMONT], "2026-11-26T14:00:00Z")),
                                        path, _policy())
    save()
    assert problem in warning and "starting a fresh one" in warning
    assert run.incident and run.incident.state == "pending"
    saved = json.loads(path.read_text())
    assert saved["schema"] == "edgeprobe/state@1" and saved["site"] == "lab"


def test_cli_state_warning_and_probe_all_only(lab, tmp_path):
    state = tmp_path / "state.json"
    state.write_text("not json")
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--state", str(state), "-q")
    assert proc.returncode == 0
    assert "edgeprobe: warning: state file" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(state.read_text())["schema"] == "edgeprobe/state@1"
    before = state.read_text()
    proc = edgeprobe("probe", "node", FREMONT, "-c", str(lab.probe_file()), "--state", str(state))
    assert proc.returncode == 0  # the same rule as the action's, decided in the pipeline
    assert proc.stderr == ("edgeprobe: warning: partial run: incident state left unchanged (it "
                           "tracks the whole fleet)\n")
    assert state.read_text() == before


@pytest.fixture
def services():
    fake = FakeServices().start()
    yield fake
    fake.stop()


def _probe_and_notify(lab, services, tmp_path, broken=()):
    for node in broken:
        lab.fault(node, "s3_disabled")
    run = lab.probe(probe="timeout_s = 20.0", incident=RULES_02.replace("runs = 1", "runs = 2"))
    for node in broken:
        lab.fault(node)
    state = tmp_path / "state.json"
    run, _, save = incident.apply(parse_run(run), state, _policy())
    save()
    path = tmp_path / "run.json"
    report.write(run, {"json": str(path), "html": str(tmp_path / "r.html")})
    run, deliveries = notify(str(path), str(state), str(tmp_path / "r.html"), services.env())
    raw = list(services.calls)
    return run_json(run), deliveries, services.take(), raw


def test_incident_sequence_notifies_exactly_once_each(lab, services, tmp_path):
    """healthy → one blip → failing → failing → failing → healthy."""
    step = lambda *b: _probe_and_notify(lab, services, tmp_path, b)  # noqa: E731
    assert step()[2] == []
    assert step("cdn-newark-1")[2] == []  # a blip pages nobody
    assert step(FREMONT)[2] == []  # seen once: pending
    run, deliveries, calls, _ = step(FREMONT)
    assert sorted(calls) == [("discord", "POST", "message"), ("github", "GET", "issues"),
                             ("github", "POST", "issues"), ("slack", "POST", "message")]
    assert all(d.ok for d in deliveries) and run["incident"]["issue"] == 42
    assert step(FREMONT)[2] == []  # nothing changed: nothing sent
    run, deliveries, calls, _ = step()
    assert sorted(calls) == [("discord", "POST", "message"), ("github", "PATCH", "closed"),
                             ("github", "POST", "comments"), ("slack", "POST", "message")]
    assert run["incident"]["state"] == "resolved" and run["incident"]["issue"] is None
    assert step()[2] == []


def test_update_comments_on_the_same_issue(lab, services, tmp_path):
    step = lambda *b: _probe_and_notify(lab, services, tmp_path, b)  # noqa: E731
    step(FREMONT)
    step(FREMONT)
    step(FREMONT, SEATTLE)
    run, _, calls, _ = step(FREMONT, SEATTLE)
    assert run["incident"]["change"] == "updated"
    assert ("github", "POST", "comments") in calls and ("github", "POST", "issues") not in calls


def test_message_content(lab, services, tmp_path):
    step = lambda *b: _probe_and_notify(lab, services, tmp_path, b)  # noqa: E731
    step(FREMONT)
    run, _, _, raw = step(FREMONT)
    calls = {c["service"]: c for c in raw}
    issue = calls["github"]
    assert issue["auth"] == "Bearer ghs_faketoken_never_printed"
    assert issue["json"]["title"] == issue_title(parse_run(run)) == \
        "edgeprobe: lab — cdn-fremont-1 failing"
    assert "node_media_missing" in issue["json"]["body"]
    assert "https://github.example/acme/infra/actions/runs/777" in issue["json"]["body"]
    assert calls["slack"]["json"]["text"].startswith("🔴 lab: incident declared — cdn-fremont-1")
    assert calls["discord"]["content_type"] == "multipart/form-data"  # report attached
    assert b'filename="r.html"' in calls["discord"]["raw"]


@pytest.mark.parametrize("fault", ["500", "stall"])
def test_api_failure_is_survived_reported_and_retried(lab, services, tmp_path, fault):
    step = lambda *b: _probe_and_notify(lab, services, tmp_path, b)  # noqa: E731
    step(FREMONT)
    services.fail["github"] = fault
    run, deliveries, _, _ = step(FREMONT)
    failed = [d for d in deliveries if not d.ok]
    assert [(d.channel, d.action) for d in failed] == [("github", "error")]
    expected = "HTTP 500" if fault == "500" else "TimeoutError"
    assert failed[0].error == f"github: find the incident issue: {expected}"
    assert {n["channel"]: n["ok"] for n in run["notifications"]} == {
        "github": False, "discord": True, "slack": True}
    saved = json.loads((tmp_path / "run.json").read_text())  # the result is not lost
    assert saved["notifications"] == run["notifications"]
    services.fail.clear()
    run, _, calls, _ = step(FREMONT)  # still open, no issue yet: the next run opens it
    assert ("github", "POST", "issues") in calls
    assert ("discord", "POST", "message") not in calls  # chat already told


def test_notify_cli_never_prints_secrets(lab, services, tmp_path):
    lab.fault(FREMONT, "s3_disabled")
    state, out = tmp_path / "state.json", tmp_path / "run.json"
    probe = lab.probe_file(incident=RULES_02)
    proc = edgeprobe("probe", "all", "-c", str(probe), "--state", str(state), "--json", str(out),
                     "-q")
    assert proc.returncode == 1
    services.fail["slack"] = "500"
    proc = edgeprobe("notify", str(out), "--state", str(state), env=services.env())
    assert proc.returncode == 0, proc.stderr
    assert "notify: github opened" in proc.stderr
    assert "edgeprobe: warning: slack webhook: HTTP 500" in proc.stderr
    everything = proc.stdout + proc.stderr + out.read_text() + state.read_text()
    for secret in ("ghs_faketoken_never_printed", "secret=wh1", "secret=wh2"):
        assert secret not in everything
    services.take()
    proc = edgeprobe("notify", str(out), "--state", str(state), env=services.env())
    assert services.take() == [("slack", "POST", "message")]  # only the failed one is retried
    services.fail.clear()
    proc = edgeprobe("notify", str(out), "--state", str(state), env=services.env())
    assert proc.stderr == "notify: slack declared\n"
    proc = edgeprobe("notify", str(out), "--state", str(state), env=services.env())
    assert "notify: nothing to send" in proc.stderr  # everyone told: nothing twice


def test_notify_needs_a_run_with_state(tmp_path, lab):
    out = tmp_path / "run.json"
    edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--json", str(out), "-q")
    proc = edgeprobe("notify", str(out), "--state", str(tmp_path / "s.json"))
    assert proc.returncode == 2 and "has no incident block" in proc.stderr


def test_the_state_is_saved_after_the_outputs_so_a_failed_write_loses_no_declaration(
        lab, tmp_path):
    """0.2 advanced the state before the reports were written: a failed write (or a kill)
    between the two lost the declaration for good. Now the state is saved last."""
    from edgeprobe import config, pipeline
    from edgeprobe.errors import OutputError

    lab.fault(FREMONT, "s3_disabled")
    settings = config.load(lab.probe_file(incident=RULES_02))
    state = tmp_path / "state.json"

    def broken_disk(run):
        raise OutputError("cannot write report.html: No space left on device")

    with pytest.raises(OutputError):
        pipeline.probe(settings, state=state, outputs=broken_disk)
    assert not state.exists()  # nothing advanced
    written = []
    run = pipeline.probe(settings, state=state, outputs=written.append)
    assert run.incident.change == "declared" and written == [run]  # declared now, not lost
    assert json.loads(state.read_text())["incident"]["open"] is True


def test_one_run_per_state_file_at_a_time(lab, tmp_path):
    """0.2 had no lock: two notifies at once opened two issues, three probes at once each
    recorded one run. The second is refused at once, naming the holder (exit 2)."""
    import os

    from edgeprobe import config, pipeline
    from edgeprobe.errors import OutputError
    from edgeprobe.fileio import held
    from tests.conftest import edgeprobe

    state = tmp_path / "state.json"
    path = lab.probe_file()
    with held(state):
        with pytest.raises(OutputError, match=rf"in use by another edgeprobe \(pid {os.getpid()}"):
            pipeline.probe(config.load(path), state=state)
        proc = edgeprobe("probe", "all", "-c", str(path), "--state", str(state), "-q")
        assert proc.returncode == 2 and "in use by another edgeprobe" in proc.stderr
    assert not state.exists()
    pipeline.probe(config.load(path), state=state)  # released: it runs
    assert state.exists()
