"""The README's Prometheus screenshot, from real data: the lab fleet, `edgeprobe serve`
and Debian's Prometheus scraping it, with cdn-fremont-1 broken half-way; Chromium (through
Playwright) photographs Prometheus's graph of edgeprobe_node_up.

    .venv/bin/python bench/prometheus_screenshot.py docs/images/prometheus-node-up.png

Takes about two minutes. Needs prometheus, chromium and the test extra.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from edgeprobe.lab.processes import closed_port
from edgeprobe.lab.thread import running_lab

HEALTHY_S, BROKEN_S = 40, 60


def main(out: str) -> None:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="edgeprobe-shot-"))
    with running_lab() as thread:
        lab = thread.lab
        serve_port, prom_port = closed_port(), closed_port()
        serve = subprocess.Popen([sys.executable, "-m", "edgeprobe", "serve", "-c",
                                  str(lab.write_probe(views=True)), "--listen",
                                  f"127.0.0.1:{serve_port}", "--interval", "2"],
                                 stderr=subprocess.DEVNULL)
        (tmp / "prometheus.yml").write_text(
            "global: {scrape_interval: 2s}\nscrape_configs:\n  - job_name: edgeprobe\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{serve_port}']}}]\n")
        prom = subprocess.Popen([shutil.which("prometheus") or "prometheus",
                                 f"--config.file={tmp / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp / 'data'}",
                                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(HEALTHY_S)
            thread.call(lab.set_faults("cdn-fremont-1", "s3_disabled"))
            time.sleep(BROKEN_S)
            query = urllib.parse.urlencode({
                "g0.expr": 'edgeprobe_node_up{job="edgeprobe"}', "g0.tab": "0",
                "g0.range_input": "2m", "g0.stacked": "0", "g0.show_exemplars": "0"})
            chromium = shutil.which("chromium") or shutil.which("chromium-browser")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"http://127.0.0.1:{prom_port}/graph?{query}")
                page.wait_for_timeout(4000)
                page.screenshot(path=out, full_page=True)
                browser.close()
        finally:
            serve.send_signal(signal.SIGTERM)
            prom.terminate()
            serve.wait(60)
            prom.wait(60)
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "prometheus-node-up.png")
