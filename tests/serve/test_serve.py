"""`edgeprobe serve` against the lab fleet, scraped by a real Prometheus; the alert rules
through promtool. Prometheus tests are skipped where Debian's prometheus is not installed,
except in CI (CI=true), where scripts/setup test installs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jsonschema

from edgeprobe.lab.processes import closed_port
from tests.conftest import ROOT
from tests.needs import need

DEPLOY = ROOT / "deploy" / "prometheus"
FREMONT = "cdn-fremont-1"
SECRET = "s3cr3t-never-served-0123456789"


def need_tool(binary: str) -> str:
    return need(shutil.which(binary), binary, "Debian: apt-get install prometheus")


def get(url: str, accept: str | None = None) -> tuple[int, str, str]:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


class Serving:
    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc, self.url = proc, f"http://127.0.0.1:{port}"

    def get(self, path: str, accept: str | None = None) -> tuple[int, str, str]:
        return get(self.url + path, accept)

    def wait_for(self, what: str, timeout: float = 30) -> str:
        """The /metrics text once it contains ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                status, _, body = self.get("/metrics")
                if status == 200 and what in body:
                    return body
            except OSError:
                pass
            assert self.proc.poll() is None, self.proc.stderr.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"no {what!r} in /metrics within {timeout} s"
            time.sleep(0.1)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        return code, self.proc.stderr.read() if self.proc.stderr else ""


@contextmanager
def serving(lab, *, interval: float = 1.0, env_extra: dict[str, str] | None = None,
            **toml: Any) -> Iterator[Serving]:
    port = closed_port()
    path = lab.probe_file(views=True, **toml)
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": SECRET, "GITHUB_TOKEN": SECRET,
           "EDGEPROBE_DISCORD_WEBHOOK": f"https://discord.example/{SECRET}",
           **(env_extra or {})}
    proc = subprocess.Popen([sys.executable, "-m", "edgeprobe", "serve", "-c", str(path),
                             "--listen", f"127.0.0.1:{port}", "--interval", str(interval)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    server = Serving(proc, port)
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def value(metrics: str, name: str, **labels: str) -> float:
    """One sample's value from the classic text format (labels: a subset to match)."""
    for line in metrics.splitlines():
        m = re.match(rf"{name}(?:\{{(.*)\}})? (\S+)$", line)
        if m and all(f'{k}="{v}"' in (m.group(1) or "") for k, v in labels.items()):
            return float(m.group(2))
    raise AssertionError(f"no {name} {labels}")


def test_serve_endpoints_against_the_lab(lab):
    lab.fault(FREMONT, "s3_disabled")
    # one run, then /probe (enabled here) finds the lock free
    with serving(lab, interval=3600, extra="\n[serve]\nprobe_endpoint = true\n") as server:
        metrics = server.wait_for('edgeprobe_runs_total{result="ok"} 1.0')
        assert value(metrics, "edgeprobe_node_up", node=FREMONT) == 0
        assert {value(metrics, "edgeprobe_node_up", node=n) for n in lab.lab.edges
                if n != FREMONT} == {1}
        assert value(metrics, "edgeprobe_node_origin_path_up", node=FREMONT) == 0
        assert value(metrics, "edgeprobe_findings", kind="node_media_missing",
                     severity="critical") == 1
        assert value(metrics, "edgeprobe_view_status", view="us-west",
                     edgeprobe_view_status="failing") == 1
        assert value(metrics, "edgeprobe_node_http_duration_seconds", node="cdn-seattle-1",
                     phase="first_byte") > 0
        assert value(metrics, "edgeprobe_build_info", version=__import__("edgeprobe")
                     .__version__) == 1
        # no object key is ever a label: the series count follows the fleet, not the sample
        assert "/system/" not in metrics and "png" not in metrics
        status, ctype, om = server.get("/metrics", "application/openmetrics-text; "
                                                  "version=1.0.0")
        assert ctype.startswith("application/openmetrics-text") and om.endswith("# EOF\n")
        status, ctype, page = server.get("/")
        assert status == 200 and ctype.startswith("text/html") and "FAILING" in page
        status, _, text = server.get("/run.json")
        run = json.loads(text)
        jsonschema.validate(run, json.loads((ROOT / "docs" / "run-result.schema.json")
                                            .read_text()))
        assert run["health"] == "failing"
        status, _, text = server.get("/healthz")
        assert status == 200 and text.startswith("ok: last run ")
        status, _, one = server.get(f"/probe?node={FREMONT}")
        assert status == 200 and value(one, "edgeprobe_node_up", node=FREMONT) == 0
        assert "cdn-seattle-1" not in one and "edgeprobe_runs_total" not in one
        assert server.get("/probe?node=cdn-nowhere-1")[:1] == (404,)
        assert "no node named 'cdn-nowhere-1'; nodes: cdn-fremont-1," in \
            server.get("/probe?node=cdn-nowhere-1")[2]
        assert server.get("/probe")[0] == 400
        status, _, _ = server.get(f"/probe?node={FREMONT}")  # at most one per 10 s
        assert status == 429
        for path in ("/metrics", "/", "/run.json", "/healthz", f"/probe?node={FREMONT}"):
            assert SECRET not in server.get(path)[2], path
        code, log = server.stop()
    assert code == 0, log
    assert "stopping: the current run finishes first" in log and SECRET not in log


def test_a_run_that_cannot_run_keeps_serve_alive_and_says_why(lab):
    """Nothing to probe (no sample source at all): 503 with the reason, a metric, a log
    line — and the next scrape still works."""
    with serving(lab, samples="") as server:
        metrics = server.wait_for('edgeprobe_runs_total{result="failed"} 2.0')
        assert value(metrics, "edgeprobe_run_success") == 0
        assert "edgeprobe_node_up" not in metrics  # nothing ran: no made-up node state
        status, _, text = server.get("/healthz")
        assert status == 503
        assert text.startswith("the last run could not run: nothing to probe")
        assert server.get("/")[0] == 503 and server.get("/run.json")[0] == 503
        code, log = server.stop()
    assert code == 0 and "run failed: nothing to probe" in log


def test_a_bucket_outage_is_a_metric_not_a_dead_server(lab):
    with serving(lab, origin="unreachable") as server:
        metrics = server.wait_for('edgeprobe_runs_total{result="ok"} 1.0')
        assert value(metrics, "edgeprobe_bucket_up") == 0
        assert value(metrics, "edgeprobe_findings", kind="origin_unavailable",
                     severity="warning") == 1
        assert server.get("/healthz")[0] == 200  # the run ran; it found the outage
        assert server.stop()[0] == 0


def test_a_scrape_during_a_run_gets_the_previous_complete_run(lab):
    lab.fault("cdn-newark-1", "slow")  # every run takes 5 s or more
    with serving(lab, interval=1.0) as server:
        first = server.wait_for('edgeprobe_runs_total{result="ok"} 1.0', timeout=60)
        started = value(first, "edgeprobe_run_timestamp_seconds")
        seen = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(seen) < 2:
            _, _, metrics = server.get("/metrics")
            # every scrape is one whole run: all six nodes, one timestamp
            assert len(re.findall(r"^edgeprobe_node_up\{", metrics, re.M)) == 6
            seen.add(value(metrics, "edgeprobe_run_timestamp_seconds"))
            time.sleep(0.05)
        assert started in seen and len(seen) == 2
        code, log = server.stop()  # mid-run, most likely: it finishes, then exits
    assert code == 0
    assert log.rstrip().endswith("stopping: the current run finishes first") or \
        "run ok" in log.split("stopping")[-1]


def test_serve_bad_address_or_port_in_use_exits_2(lab):
    import socket

    from tests.conftest import edgeprobe

    path = str(lab.probe_file())
    proc = edgeprobe("serve", "-c", path, "--listen", "localhost:9330")
    assert (proc.returncode, proc.stderr) == (2, "edgeprobe: error: --listen: 'localhost:9330': "
                                                 "use \"ip:port\" (\"127.0.0.1:9330\", "
                                                 "\"[::1]:9330\")\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = edgeprobe("serve", "-c", path, "--listen", f"127.0.0.1:{port}")
    assert proc.returncode == 2
    assert f"edgeprobe: error: cannot listen on 127.0.0.1:{port}: " in proc.stderr


def test_prometheus_scrapes_serve_and_sees_the_broken_edge(lab, tmp_path):
    prometheus = need_tool("prometheus")
    lab.fault(FREMONT, "s3_disabled")
    with serving(lab) as server:
        server.wait_for('edgeprobe_runs_total{result="ok"} 1.0')
        port = closed_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: [{DEPLOY / 'edgeprobe-rules.yml'}]\n"
            "scrape_configs:\n  - job_name: edgeprobe\n"
            f"    static_configs: [{{targets: ['{server.url.removeprefix('http://')}']}}]\n")
        proc = subprocess.Popen([prometheus, f"--config.file={config}",
                                 f"--storage.tsdb.path={tmp_path / 'data'}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            up = _query_until(port, 'edgeprobe_node_up{job="edgeprobe"}', 6)
        finally:
            proc.terminate()
            proc.wait(30)
    by_node = {r["metric"]["node"]: float(r["value"][1]) for r in up}
    assert by_node.pop(FREMONT) == 0
    assert set(by_node.values()) == {1.0} and len(by_node) == 5


def _query_until(port: int, query: str, series: int, timeout: float = 30) -> list[Any]:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.request.quote(query)}"
    while True:
        try:
            _, _, body = get(url)
            result = json.loads(body)["data"]["result"]
            if len(result) >= series:
                return list(result)
        except (OSError, ValueError, KeyError):
            pass
        assert time.monotonic() < deadline, f"Prometheus has no {series} series of {query}"
        time.sleep(0.2)


def test_the_alert_rules_pass_promtool():
    promtool = need_tool("promtool")
    for argv in (["check", "rules", "edgeprobe-rules.yml"],
                 ["test", "rules", "edgeprobe-rules.test.yml"],
                 ["check", "config", "prometheus.yml"]):
        proc = subprocess.run([promtool, *argv], cwd=DEPLOY, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_dashboard_and_rules_use_only_metrics_serve_exposes(lab):
    """Every metric name in the Grafana dashboard and the alert rules exists in a real
    /metrics answer (or is Prometheus's own `up`)."""
    with serving(lab) as server:
        metrics = server.wait_for('edgeprobe_runs_total{result="ok"} 1.0')
        server.stop()
    exposed = set(re.findall(r"^(edgeprobe_\w+?)(?:\{| )", metrics, re.M))
    exposed |= set(re.findall(r"^# TYPE (edgeprobe_\w+)", metrics, re.M))  # even if empty
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "edgeprobe-dashboard.json")
                           .read_text())
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used |= set(re.findall(r"edgeprobe_\w+", target["expr"]))
    used |= set(re.findall(r"edgeprobe_\w+", (DEPLOY / "edgeprobe-rules.yml").read_text()))
    assert used and used <= exposed, used - exposed


def test_probe_on_demand_is_off_unless_the_probe_file_enables_it(lab):
    """An unauthenticated amplifier (0.2: 30 one-second requests kept the server probing
    for 14 s and pulled ~110 MB from an edge): off by default."""
    with serving(lab, interval=3600) as server:
        server.wait_for('edgeprobe_runs_total{result="ok"} 1.0')
        status, _, text = server.get(f"/probe?node={FREMONT}")
        assert (status, text) == (404, "/probe is off: set [serve] probe_endpoint = true in "
                                       "the probe file to enable it\n")
        assert server.stop()[0] == 0


def test_serve_with_an_unwritable_state_path_does_not_start(lab, tmp_path):
    """0.2 started, then failed every run quietly; now it refuses to start (exit 2)."""
    from tests.conftest import edgeprobe

    (tmp_path / "a-file").write_text("x")
    bad = tmp_path / "a-file" / "state.json"
    proc = edgeprobe("serve", "-c", str(lab.probe_file()), "--listen",
                     f"127.0.0.1:{closed_port()}", "--state", str(bad), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"edgeprobe: error: cannot write {bad}: {bad.parent} is not a " \
                          "directory\n"
    assert "Traceback" not in proc.stderr


def test_a_dns_rebinding_host_is_refused(lab):
    """A page on evil.example whose name now resolves to 127.0.0.1 sends Host: evil.example
    (0.2 answered it /run.json); only the server's own names are answered."""
    with serving(lab, interval=3600) as server:
        server.wait_for('edgeprobe_runs_total{result="ok"} 1.0')
        port = server.url.rsplit(":", 1)[1]
        for host, status in ((f"evil.example:{port}", 421), (f"localhost:{port}", 200),
                             (f"127.0.0.1:{port}", 200)):
            req = urllib.request.Request(server.url + "/run.json", headers={"Host": host})
            try:
                with urllib.request.urlopen(req, timeout=30) as answer:
                    got = answer.status
            except urllib.error.HTTPError as exc:
                got = exc.code
            assert got == status, host
        assert server.stop()[0] == 0


def test_a_second_signal_stops_at_once_and_no_temp_state_is_left(lab, tmp_path):
    """0.2: SIGTERM waited for the whole run, a second signal was ignored, and SIGHUP left
    the temporary state directory behind."""
    lab.fault("cdn-newark-1", "slow")  # every run takes 5 s or more
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with serving(lab, interval=3600, env_extra={"TMPDIR": str(tmp)}) as server:
        time.sleep(1.5)  # mid-run
        assert [p.name for p in tmp.iterdir() if p.name.startswith("edgeprobe-")]
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(30)
        assert time.monotonic() - started < 3  # not the rest of the run
        log = server.proc.stderr.read()
    assert code == 0 and "second signal: stopping now" in log
    assert not [p for p in tmp.iterdir() if p.name.startswith("edgeprobe-") and p.is_dir()]
    with serving(lab, interval=3600, env_extra={"TMPDIR": str(tmp)}) as server:
        server.wait_for('edgeprobe_runs_total{result="ok"} 1.0', timeout=60)
        server.proc.send_signal(signal.SIGHUP)
        assert server.proc.wait(30) == 0
    assert not [p for p in tmp.iterdir() if p.name.startswith("edgeprobe-") and p.is_dir()]


def test_a_fifo_state_path_is_refused_not_a_frozen_server(lab, tmp_path):
    """0.2: serve read its state from a FIFO on its event loop and froze (no /metrics)."""
    from tests.conftest import edgeprobe

    fifo = tmp_path / "state.json"
    os.mkfifo(fifo)
    proc = edgeprobe("serve", "-c", str(lab.probe_file()), "--listen",
                     f"127.0.0.1:{closed_port()}", "--state", str(fifo), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "not a regular file" in proc.stderr
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--state", str(fifo),
                     timeout=60)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr


def test_half_open_connections_cannot_take_the_server_down(lab):
    """0.2: 1,100 connections that never sent a request used up its 1,024 descriptors and
    /metrics went down for good. Now at most 256 are kept, and an idle one ends after 15 s."""
    import socket

    with serving(lab, interval=3600) as server:
        server.wait_for('edgeprobe_runs_total{result="ok"} 1.0')
        port = int(server.url.rsplit(":", 1)[1])
        held = []
        try:
            for _ in range(300):
                s = socket.socket()
                s.connect(("127.0.0.1", port))
                held.append(s)
            time.sleep(0.5)
            fds = len(os.listdir(f"/proc/{server.proc.pid}/fd"))
            assert fds < 256 + 64, fds  # the cap holds: no descriptor per extra connection
            deadline = time.monotonic() + 30
            while True:  # the idle ones end: /metrics answers again
                try:
                    status, _, _ = server.get("/metrics")
                    if status == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "/metrics never came back"
                time.sleep(0.5)
        finally:
            for s in held:
                s.close()
        assert server.stop()[0] == 0
