"""`edgeprobe merge`: three vantages' runs of the lab fleet — one sees a path failure to one
node, one has its own network down — merged into one verdict; and every bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edgeprobe import config, pipeline
from edgeprobe.result.files import run_json
from tests.conftest import assert_healthy_not_blamed, blamed, edgeprobe, render

FREMONT, FRANKFURT = "cdn-fremont-1", "cdn-frankfurt-1"


def _run(lab, vantage: str, path: Path) -> dict[str, Any]:
    return run_json(pipeline.probe(config.load(path), vantage=vantage))


@pytest.fixture(scope="module")
def runs(lab_thread, tmp_path_factory) -> dict[str, Path]:
    """us-west-1 sees the fleet as it is (cdn-fremont-1 broken); eu-1 also cannot reach
    cdn-frankfurt-1 (its listener drops that vantage); ap-1's own network is down (every
    node refuses it)."""
    from tests.conftest import LabHandle

    lab = LabHandle(lab_thread)
    out = tmp_path_factory.mktemp("vantages")
    probe_file = lab.probe_file("merge.toml")
    files = {}
    try:
        lab.fault(FREMONT, "s3_disabled")
        files["us-west-1"] = _run(lab, "us-west-1", probe_file)
        lab.fault(FRANKFURT, "down")
        files["eu-1"] = _run(lab, "eu-1", probe_file)
        for node in lab.lab.edges:
            lab.fault(node, "down")
        files["ap-1"] = _run(lab, "ap-1", probe_file)
    finally:
        lab_thread.call(lab_thread.lab.reset())
    paths = {}
    for name, run in files.items():
        paths[name] = out / f"{name}.json"
        paths[name].write_text(json.dumps(run))
    return paths


def test_merge_names_the_path_failure_the_broken_vantage_and_the_broken_edge(runs, tmp_path):
    out = tmp_path / "merged.json"
    proc = edgeprobe("merge", *map(str, runs.values()), "--json", str(out),
                     "--html", str(tmp_path / "m.html"), "--markdown", str(tmp_path / "m.md"))
    assert proc.returncode == 1, proc.stderr
    merged = json.loads(out.read_text())
    assert merged["schema"] == "edgeprobe/run@2"
    assert blamed(merged) == {
        ("node_media_missing", FREMONT, "critical"),
        ("node_origin_path_broken", FREMONT, "critical"),
        ("node_path_failure", FRANKFURT, "warning"),
        ("vantage_degraded", "ap-1", "warning"),
    }
    path = next(f for f in merged["findings"] if f["kind"] == "node_path_failure")
    assert path["summary"] == (f"{FRANKFURT} unreachable from eu-1 only; 1 other vantage fine: "
                               "the network path, not the node's configuration")
    assert path["evidence"] == {"failing_from": ["eu-1"], "fine_from": ["us-west-1"]}
    missing = next(f for f in merged["findings"] if f["kind"] == "node_media_missing")
    assert set(missing["evidence"]["vantages"]) == {"us-west-1", "eu-1"}  # evidence of each
    degraded = next(f for f in merged["findings"] if f["kind"] == "vantage_degraded")
    assert degraded["summary"].startswith("vantage ap-1 fails against every node (6)")
    status = {n["name"]: n["status"] for n in merged["nodes"]}
    assert status[FREMONT] == "failing" and status[FRANKFURT] == "degraded"
    assert_healthy_not_blamed(merged, {FREMONT, FRANKFURT})
    rows = {v["name"]: v for v in merged["vantages"]}
    assert set(rows) == {"us-west-1", "eu-1", "ap-1"} and rows["ap-1"]["degraded"] is True
    assert rows["eu-1"]["nodes"][FRANKFURT]["status"] == "unreachable"
    assert rows["us-west-1"]["nodes"]["cdn-seattle-1"]["latency_p50_ms"] > 0  # who is slow where
    # the node x vantage matrix leads the reports when vantages disagree
    page = (tmp_path / "m.html").read_text()
    assert page.index('id="vantages"') < page.index('id="findings"')
    md = (tmp_path / "m.md").read_text()
    assert md.index("### Node × vantage") < md.index("### Findings")
    assert f"| {FRANKFURT} |" in md.replace("\\-", "-")
    assert "ap-1" in render("terminal", merged, width=80)


@pytest.mark.parametrize(("case", "message"), [
    ("none", "edgeprobe: error: no run files given: merge RUN.json RUN.json …"),
    ("truncated", "{bad}:1: not valid JSON"),
    ("foreign", "{bad}: not an edgeprobe run result (schema 'something/else@1'"),
    ("same_vantage", "{bad}: vantage 'us-west-1' is also {first}'s: each vantage once"),
    ("merged", "{bad}: schema 'edgeprobe/run@2' is a merged run; merge the vantages' own runs"),
    ("other_file", "{bad}: a run of another probe file than {first}'s"),
    ("far_apart", "{bad} started 3600 s after {first}: more than 600 s apart (--max-spread)"),
    ("no_vantage", "{bad}: the run has no vantage"),
    # a vantage's file must not decide the merged run: another site, no nodes (0.2 merged both)
    ("other_site", "{bad}: a run of site 'evil' (https://media.lab.test"),
    ("no_nodes", "{bad}: the run lists no node: a vantage that probed nothing cannot be merged"),
    # schema-valid files that crashed 0.2 (exit 3)
    ("bad_date", "{bad}: not a valid run result at $.started_at: '2026-13-45T10:00:00Z' is "
                 "not a 'date-time'"),
    ("deep", "{bad}: not a valid run result at $.findings[0].evidence"),
])
def test_bad_inputs_exit_2_naming_the_file_and_write_nothing(runs, tmp_path, case, message):
    first = runs["us-west-1"]
    good = json.loads(first.read_text())
    bad = tmp_path / f"{case}.json"
    if case == "truncated":
        bad.write_text(first.read_text()[:200])
    elif case == "foreign":
        bad.write_text(json.dumps({"schema": "something/else@1"}))
    elif case == "same_vantage":
        bad.write_text(first.read_text())
    elif case == "merged":
        proc = edgeprobe("merge", str(first), str(runs["eu-1"]), "--json", str(bad), "-q")
        assert proc.returncode == 1, proc.stderr
    elif case == "other_file":
        bad.write_text(json.dumps({**good, "vantage": "x-1", "edgeprobe": {
            **good["edgeprobe"], "probe_file_sha256": "0" * 64}}))
    elif case == "far_apart":
        hour = good["started_at"].replace("T", " ")
        later = _shift(good["started_at"], 3600)
        assert later != hour
        bad.write_text(json.dumps({**good, "vantage": "x-1", "started_at": later}))
    elif case == "no_vantage":
        bad.write_text(json.dumps({k: v for k, v in good.items() if k != "vantage"}))
    elif case == "other_site":
        bad.write_text(json.dumps({**good, "vantage": "x-1",
                                   "site": {**good["site"], "name": "evil"}}))
    elif case == "no_nodes":
        bad.write_text(json.dumps({**good, "vantage": "x-1", "nodes": [], "regions": [],
                                   "objects": []}))
    elif case == "bad_date":
        bad.write_text(json.dumps({**good, "vantage": "x-1", "started_at": "2026-13-45T10:00:00Z"}))
    elif case == "deep":
        nested: Any = {}
        for _ in range(500):
            nested = {"a": nested}
        finding = {"kind": "node_slow", "scope": "node", "target": "x", "severity": "warning",
                   "summary": "s", "evidence": nested}
        bad.write_text(json.dumps({**good, "vantage": "x-1", "findings": [finding]}))
    out = tmp_path / "out.json"
    args = [] if case == "none" else [str(first), str(bad)]
    proc = edgeprobe("merge", *args, "--json", str(out), "--html", str(tmp_path / "o.html"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    expected = message.format(bad=bad, first=first)
    assert expected in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not out.exists() and not (tmp_path / "o.html").exists()


def _shift(stamp: str, seconds: int) -> str:
    from datetime import datetime, timedelta

    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ") + timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_merge_declares_the_incident_once(runs, tmp_path):
    state = tmp_path / "state.json"
    args = [str(p) for p in runs.values()]
    for expected in ("pending", "open"):
        out = tmp_path / f"{expected}.json"
        # two runs to confirm (these runs carry no re-test's confirmation): pending, then open
        proc = edgeprobe("merge", *args, "--state", str(state), "--json", str(out), "-q",
                         "--confirm-runs", "2")
        assert proc.returncode == 1, proc.stderr
        assert json.loads(out.read_text())["incident"]["state"] == expected


def test_the_action_merges_the_matrix_artifacts_and_keeps_the_incident_once(runs, lab,
                                                                            tmp_path):
    """The matrix workflow's last job: one artifact folder per vantage (run.json inside, as
    actions/download-artifact lays them out), merged by `edgeprobe action --merge`."""
    import os

    vantages = tmp_path / "vantages"
    for name, path in runs.items():
        (vantages / f"edgeprobe-run-{name}").mkdir(parents=True)
        (vantages / f"edgeprobe-run-{name}" / "run.json").write_text(path.read_text())
    outputs, summary = tmp_path / "outputs", tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    for expected in ("pending", "open"):
        outputs.write_text("")
        probe = lab.probe_file("merge.toml", incident="confirm_runs = 2\nretests = 0")
        proc = edgeprobe("action", "-c", str(probe), "--merge",
                         str(vantages), "--state", str(tmp_path / "state.json"), "--out",
                         str(tmp_path / "out"), env=env)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
        assert values["incident"] == expected and values["ok"] == "false"
    merged = json.loads((tmp_path / "out" / "run.json").read_text())
    assert merged["schema"] == "edgeprobe/run@2" and len(merged["vantages"]) == 3
    assert "### Node × vantage" in summary.read_text()
    assert "::warning title=cdn-frankfurt-1::node_path_failure" in proc.stdout


def test_one_vantage_alone_cannot_declare_a_fleet_wide_failure(runs, tmp_path):
    """A fleet-wide judgement from one vantage while another does not make it says as much
    about that vantage's path: kept as info, blaming nothing (0.2 kept it critical)."""
    from edgeprobe import pipeline

    one = json.loads(runs["us-west-1"].read_text())
    one["findings"].append({"kind": "fleet_wide_failure", "scope": "fleet", "target": "fleet",
                            "severity": "critical", "summary": "every node fails",
                            "evidence": {}})
    path = tmp_path / "one.json"
    path.write_text(json.dumps(one))
    merged = pipeline.merge([str(path), str(runs["eu-1"])])
    (fleet,) = [f for f in merged.findings if f.kind == "fleet_wide_failure"]
    assert fleet.severity == "info"
    assert fleet.summary.endswith("(seen from 1 of 2 vantages only: not a fleet-wide judgement)")


def test_a_vantage_that_sent_no_run_is_named_and_the_rest_merged(runs, tmp_path):
    """0.2: one late vantage held the merge; the workflow's deadline now lets the merge run
    without it, and --expect names it."""
    out = tmp_path / "m.json"
    proc = edgeprobe("merge", str(runs["us-west-1"]), str(runs["eu-1"]), "--expect",
                     "us-west-1", "--expect", "eu-1", "--expect", "ap-1", "--json", str(out),
                     "-q")
    assert proc.returncode == 1, proc.stderr  # the broken edge still fails the merged run
    merged = json.loads(out.read_text())
    assert merged["warnings"] == ["vantage ap-1 sent no run (late or failed): merged without it"]
    assert {v["name"] for v in merged["vantages"]} == {"us-west-1", "eu-1"}
    assert "edgeprobe: warning: vantage ap-1 sent no run" in proc.stderr
