"""The reusable action's own script, end to end against the lab fleet, and the workflow
linters (actionlint, zizmor) over .github/ and action.yml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, RULES_02
from tests.fake_services import FakeServices
from tests.needs import need

BIN = Path(sys.executable).parent


def _action(tmp_path, probe, **inputs):
    files = {name: tmp_path / name for name in ("output", "summary")}
    for f in files.values():
        f.write_text("")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1",
           "GITHUB_OUTPUT": str(files["output"]), "GITHUB_STEP_SUMMARY": str(files["summary"]),
           "EDGEPROBE_ACTION_CONFIG": str(probe), "EDGEPROBE_ACTION_OUT": str(tmp_path / "out"),
           **{f"EDGEPROBE_ACTION_{k.upper()}": v for k, v in inputs.items()}}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "action-probe")], env=env,
                          capture_output=True, text=True, timeout=120)
    outputs = dict(line.split("=", 1) for line in files["output"].read_text().splitlines())
    return proc, outputs, files["summary"].read_text()


def test_action_on_a_broken_fleet(lab, tmp_path):
    lab.fault("cdn-fremont-1", "s3_disabled")
    proc, outputs, summary = _action(tmp_path, lab.probe_file(), state=str(tmp_path / "s.json"))
    assert proc.returncode == 0, proc.stderr  # the action's last step fails the job instead
    assert outputs["ok"] == "false" and outputs["findings"] == "2"
    # confirm_runs defaults to 1 since 0.3 (the re-test is the second look; off in tests)
    assert outputs["exit-code"] == "1" and outputs["incident"] == "open"
    assert Path(outputs["report"]).name == "report.html" and Path(outputs["report"]).exists()
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"run.json", "report.html",
                                                             "summary.md"}
    assert summary.startswith("## 🔴 edgeprobe: FAILING — lab")
    assert "node\\_media\\_missing" in summary or "node_media_missing" in summary
    annotation, cause = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    assert annotation.startswith("::error title=cdn-fremont-1::node_media_missing [new]: "
                                 "cdn-fremont-1 answered 404 for")
    assert cause.startswith("::error title=cdn-fremont-1::node_origin_path_broken [new]: "
                            "cdn-fremont-1: its path to the bucket is broken — it does not proxy")


def test_action_healthy_and_fail_on(lab, tmp_path):
    lab.fault("cdn-fremont-1", "no_cache_headers")
    proc, outputs, _ = _action(tmp_path, lab.probe_file(), fail_on="critical")
    assert outputs["exit-code"] == "0" and outputs["ok"] == "false"
    assert "::warning title=cdn-fremont-1::node_cache_misconfigured" in proc.stdout


def test_action_notifies_when_asked(lab, tmp_path):
    services = FakeServices().start()
    try:
        os.environ.update(services.env())
        lab.fault("cdn-fremont-1", "s3_disabled")
        probe = lab.probe_file(incident=RULES_02)
        proc, outputs, _ = _action(tmp_path, probe, state=str(tmp_path / "s.json"), notify="on")
        assert outputs["incident"] == "open"
        assert sorted(services.take()) == [("discord", "POST", "message"),
                                           ("github", "GET", "issues"),
                                           ("github", "POST", "issues"),
                                           ("slack", "POST", "message")]
        assert "ghs_faketoken_never_printed" not in proc.stdout + proc.stderr
    finally:
        for key in services.env():
            os.environ.pop(key, None)
        services.stop()


def test_action_bad_probe_file(tmp_path):
    (tmp_path / "bad.toml").write_text("[site\n")
    proc, outputs, _ = _action(tmp_path, tmp_path / "bad.toml")
    assert outputs["exit-code"] == "2"
    assert proc.stdout.startswith("::error title=edgeprobe::")
    assert "TOML syntax error" in proc.stdout


def test_partial_run_leaves_state_alone(lab, tmp_path):
    proc, outputs, _ = _action(tmp_path, lab.probe_file(), node="cdn-fremont-1",
                               state=str(tmp_path / "s.json"))
    assert proc.stdout.startswith("::warning title=state::partial run: incident state left "
                                  "unchanged (it tracks the whole fleet)\n")
    assert outputs["exit-code"] == "0" and not (tmp_path / "s.json").exists()


def _tool(name):
    return need(shutil.which(name, path=str(BIN)) or shutil.which(name), name,
                "pip install -e '.[test]'")


def test_actionlint():
    files = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    proc = subprocess.run([_tool("actionlint"), *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor():
    proc = subprocess.run([_tool("zizmor"), "--offline", "--config",
                           str(ROOT / ".github" / "zizmor.yml"),
                           str(ROOT / ".github" / "workflows"), str(ROOT / "action.yml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_the_readme_workflow_lints_clean(tmp_path):
    import re
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Scheduled probing in GitHub Actions"):]
    yaml = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    assert "OWNER/edgeprobe@COMMIT_SHA" in yaml
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "edgeprobe.yml").write_text(yaml.replace("COMMIT_SHA", "a" * 40))
    proc = subprocess.run([_tool("actionlint"), str(workflows / "edgeprobe.yml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([_tool("zizmor"), "--offline", str(workflows)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_third_party_actions_are_pinned_by_sha():
    import re
    for path in [ROOT / "action.yml", *(ROOT / ".github" / "workflows").glob("*.yml")]:
        for ref in re.findall(r"uses:\s*([^\s#]+)", path.read_text()):
            if not ref.startswith("./"):
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), (path.name, ref)
