"""The CLI as users and scripts run it: real subprocesses against the real lab fleet."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

import jsonschema
import pytest

from edgeprobe.cli import main
from tests.conftest import ROOT, edgeprobe

SCHEMA = json.loads((ROOT / "docs" / "run-result.schema.json").read_text())


def test_healthy_fleet_exits_0(lab):
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()))
    assert proc.returncode == 0, proc.stderr
    assert "HEALTHY" in proc.stdout and "No findings" in proc.stdout


def test_broken_node_exits_1_and_names_it(lab, tmp_path):
    lab.fault("cdn-fremont-1", "s3_disabled")
    out = tmp_path / "run.json"
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--json", str(out))
    assert proc.returncode == 1
    assert "node_media_missing → cdn-fremont-1" in proc.stdout
    assert "curl --connect-to media.lab.test:" in proc.stdout
    run = json.loads(out.read_text())
    jsonschema.validate(run, SCHEMA)
    assert run["ok"] is False


@pytest.mark.parametrize(("fail_on", "fault", "code"), [
    ("never", "s3_disabled", 0), ("critical", "no_cache_headers", 0),
    ("warning", "no_cache_headers", 1), ("critical", "s3_disabled", 1)])
def test_fail_on(lab, fail_on, fault, code):
    lab.fault("cdn-fremont-1", fault)
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--fail-on", fail_on, "-q")
    assert proc.returncode == code
    assert proc.stdout == ""


def test_json_to_stdout_is_the_only_stdout(lab):
    lab.fault("cdn-fremont-1", "502")
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--json", "-")
    assert proc.returncode == 1
    run = json.loads(proc.stdout)  # nothing else on stdout
    jsonschema.validate(run, SCHEMA)
    assert "node_server_error → cdn-fremont-1" in proc.stderr


def test_probe_node_and_region_commands(lab):
    lab.fault("cdn-fremont-1", "s3_disabled")
    proc = edgeprobe("probe", "node", "cdn-fremont-1", "-c", str(lab.probe_file()), "--json", "-")
    assert proc.returncode == 1
    assert [n["name"] for n in json.loads(proc.stdout)["nodes"]] == ["cdn-fremont-1"]
    proc = edgeprobe("probe", "region", "eu-central", "-c", str(lab.probe_file()), "--json", "-")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["scope"] == {"kind": "region", "name": "eu-central"}


def test_unknown_node_or_region_exits_2(lab):
    proc = edgeprobe("probe", "node", "cdn-nowhere-9", "-c", str(lab.probe_file()))
    assert proc.returncode == 2
    assert proc.stderr.startswith("edgeprobe: error: no node named 'cdn-nowhere-9'")
    assert "cdn-fremont-1" in proc.stderr
    proc = edgeprobe("probe", "region", "mars", "-c", str(lab.probe_file()))
    assert proc.returncode == 2 and "regions: us-west, us-east, eu-central" in proc.stderr


def test_nothing_to_probe_exits_2(lab):
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file(samples="")))
    assert proc.returncode == 2
    assert "nothing to probe" in proc.stderr and "Traceback" not in proc.stderr


def test_config_check_lists_nodes_addresses_and_paths(lab):
    lab.fault("cdn-newark-1", "no_dns")
    proc = edgeprobe("config", "check", "-c", str(lab.probe_file()))
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"cdn-fremont-1\s+us-west\s+cdn-fremont-1\.lab\.test → 127\.0\.\d+\.\d+",
                     proc.stdout)
    assert "cdn-newark-1" in proc.stdout and "DNS FAILED" in proc.stdout
    assert lab.lab.paths[0] in proc.stdout


def test_config_check_lists_what_a_run_would_sample_and_why(lab):
    """The sampler walks the bucket's key tree (its choice changed between versions): config
    check asks the bucket as a run would and lists each key with how it was chosen; the run
    result says the same (objects[].chosen)."""
    samples = 'bucket_prefixes = ["media_attachments/"]\nper_prefix = 3'
    proc = edgeprobe("config", "check", "-c", str(lab.probe_file(samples=samples)))
    assert proc.returncode == 0, proc.stderr
    listed = [line for line in proc.stdout.splitlines() if "bucket prefix" in line]
    assert len(listed) == 3 and proc.stdout.count("the newest key") == 1
    assert sum("spread over the key range" in line for line in listed) == 2
    run = lab.probe(samples=samples)
    chosen = {o["path"]: o["chosen"] for o in run["objects"]}
    for line in listed:
        path, why = line.split(maxsplit=1)
        assert chosen[path] == why.strip()


def test_report_rerenders_the_same_html_and_markdown(lab, tmp_path):
    lab.fault("cdn-fremont-1", "s3_disabled")
    run, html, md = tmp_path / "run.json", tmp_path / "run.html", tmp_path / "run.md"
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--json", str(run),
                     "--html", str(html), "--markdown", str(md), "-q")
    assert proc.returncode == 1
    again_html, again_md = tmp_path / "again.html", tmp_path / "again.md"
    proc = edgeprobe("report", str(run), "--html", str(again_html), "--markdown", str(again_md))
    assert proc.returncode == 0, proc.stderr
    assert again_html.read_text() == html.read_text()
    assert again_md.read_text() == md.read_text()
    proc = edgeprobe("report", str(run))
    assert proc.returncode == 0 and "FAILING" in proc.stdout


def test_a_node_whose_name_does_not_resolve_still_gets_its_html_report(lab, tmp_path):
    """The incident at its worst (a node gone from DNS) must never cost the report."""
    lab.fault("cdn-fremont-1", "no_dns")
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--html", str(html),
                     "--markdown", str(md), "-q")
    assert proc.returncode == 1, proc.stderr
    page = html.read_text()
    assert 'data-node="cdn-fremont-1" data-status="unreachable"' in page
    assert page.count("cdn-fremont-1: not checked") == len(lab.lab.paths)
    assert "`node_dns_failure` → **cdn-fremont-1**" in md.read_text()


def test_unwritable_output_exits_2(lab, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--html",
                     str(blocker / "sub" / "r.html"), "-q")
    assert proc.returncode == 2
    assert "cannot write" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.lab
def test_demo_writes_reports_and_exits_1(tmp_path):
    proc = edgeprobe("demo", "--out", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    run = json.loads((tmp_path / "demo.json").read_text())
    jsonschema.validate(run, SCHEMA)
    expected = {("node_media_missing", "cdn-fremont-1"),
                ("node_origin_path_broken", "cdn-fremont-1")}
    if run.get("views"):  # the lab's GeoDNS views (not where every edge shares 127.0.0.1)
        expected.add(("region_routed_to_failing_node", "us-west"))
    assert {(f["kind"], f["target"]) for f in run["findings"]} == expected
    assert (tmp_path / "demo.html").stat().st_size > 0
    assert (tmp_path / "demo.md").read_text().startswith("## 🔴 edgeprobe: FAILING")
    assert "cdn-fremont-1" in proc.stdout


@pytest.mark.lab
def test_lab_print_config_runs_until_interrupted(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "edgeprobe", "lab", "--print-config"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith('host = "cdn-amsterdam-1.lab.test"'):
                break
        (tmp_path / "lab.toml").write_text("".join(lines))
        check = edgeprobe("probe", "all", "-c", str(tmp_path / "lab.toml"), "-q")
        assert check.returncode == 0, check.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Traceback" not in err and "lab stopped" in err


@pytest.mark.lab
def test_lab_rejects_unknown_fault():
    proc = edgeprobe("lab", "--fault", "cdn-fremont-1=gremlins")
    assert proc.returncode == 2 and "use NODE=FAULT with a fault from" in proc.stderr


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))


def test_every_command_has_help_and_is_documented():
    docs = (ROOT / "docs" / "cli.md").read_text()
    for path, cmd in _commands(main):
        proc = edgeprobe(*path, "--help")
        assert proc.returncode == 0 and "Usage:" in proc.stdout, path
        assert cmd.help, path
        assert f"edgeprobe {' '.join(path)}" in docs, f"docs/cli.md lacks {' '.join(path)}"


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from click.testing import CliRunner; from edgeprobe.cli import main; "
            "CliRunner().invoke(main, ['--help']); "
            "print(sorted(m for m in ('aiohttp', 'boto3', 'botocore', 'jinja2', 'dns', 'moto', "
            "'pycurl') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("command", [["demo", "--out", "."], ["lab", "--print-config"]])
def test_lab_commands_without_the_lab_extra_say_how_to_install(tmp_path, command):
    code = ("import sys; sys.modules['moto'] = None; sys.modules['moto.server'] = None\n"
            "from edgeprobe.cli import main\nmain(sys.argv[1:])")
    proc = subprocess.run([sys.executable, "-c", code, *command], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == ("edgeprobe: error: the lab needs the optional extra: "
                           "pip install 'edgeprobe[lab]' (moto is not installed)\n")
    assert list(tmp_path.iterdir()) == []


def test_every_option_of_every_command_is_in_docs_cli():
    """docs/cli.md is the contract: each command's section names every option --help lists."""
    docs = (ROOT / "docs" / "cli.md").read_text()
    for path, cmd in _commands(main):
        if hasattr(cmd, "commands"):
            continue
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert opt in docs, f"docs/cli.md lacks {opt} of edgeprobe {' '.join(path)}"


def test_the_library_surface():
    import edgeprobe

    assert set(edgeprobe.__all__) >= {"probe", "Scope", "load_config", "load_run", "render"}
    for name in edgeprobe.__all__:
        assert getattr(edgeprobe, name) is not None
    code = ("import sys, edgeprobe; print(sorted(m for m in ('aiohttp', 'boto3', 'jinja2') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_the_readme_python_example_runs(lab, tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    code = code.replace("probes/edgeprobe.toml", str(lab.probe_file()))
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})  # the project's own README
    assert capsys.readouterr().out.startswith("healthy []")
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_callers_go_through_the_pipeline_only():
    """cli, the action, the demo and the test fixtures are thin callers: no stage, no
    analysis, no incident logic of their own (one call into edgeprobe.pipeline)."""
    import ast

    stages = ("edgeprobe.observe", "edgeprobe.analyze", "edgeprobe.incident",
              "edgeprobe.merge.runs")
    src = ROOT / "src" / "edgeprobe"
    callers = [src / "cli" / f for f in ("__init__.py", "probe.py", "action.py", "demo.py",
                                         "config.py", "merge.py")]
    for path in [*callers, ROOT / "tests" / "conftest.py", src / "serve" / "server.py"]:
        tree = ast.parse(path.read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {f"edgeprobe.{a.name}" for n in ast.walk(tree)
                     if isinstance(n, ast.ImportFrom) and n.module == "edgeprobe"
                     for a in n.names}
        assert not {m for m in imported if m and m.startswith(stages)}, path.name
        # config check/discover describe a probe file; they run no probe
        assert "edgeprobe.pipeline" in imported or path.name in ("config.py", "__init__.py"), path
