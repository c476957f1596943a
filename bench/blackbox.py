"""blackbox_exporter (Debian's prometheus-blackbox-exporter) as a peer in the benchmark.

The exporter fetches one URL per ``/probe`` request; pinned to a node the way its users do
it (the node's address in the target URL, the media host as Host header and TLS server
name). A ``curl --parallel`` driver asks it for every (node, object) with 64 probes in
flight, so what is measured is the exporter's own fetching: its wall time per batch, its
CPU seconds and peak RSS (read from /proc, the exporter being a long-lived process).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from procmem import status_mib

BINARY = "prometheus-blackbox-exporter"

CONFIG = """\
modules:
  edge:
    prober: http
    timeout: 60s
    http:
      method: GET
      valid_status_codes: [200]
      follow_redirects: false
      preferred_ip_protocol: ip4
      headers:
        Host: {host}:{port}
      tls_config:
        ca_file: {ca}
        server_name: {host}
"""


def available() -> bool:
    return shutil.which(BINARY) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


class Blackbox:
    def __init__(self, root: Path, host: str, port: int, ca: Path) -> None:
        self.root = root
        (root / "blackbox.yml").write_text(CONFIG.format(host=host, port=port, ca=ca))
        self.listen = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [BINARY, f"--config.file={self.root / 'blackbox.yml'}",
             f"--web.listen-address=127.0.0.1:{self.listen}", "--log.level=error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.listen)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("blackbox_exporter did not start")

    def driver(self, path: Path, targets: list[str]) -> list[str]:
        """A curl config that asks for every target, 64 probes in flight."""
        lines = ["parallel", "parallel-max = 64", "silent", "show-error"]
        for i, target in enumerate(targets):
            if i:
                lines.append("next")
            lines += [f'url = "http://127.0.0.1:{self.listen}/probe?module=edge&target='
                      f'{quote(target, safe="")}"', 'output = "/dev/null"']
        path.write_text("\n".join(lines) + "\n")
        return ["curl", "--config", str(path)]

    def measure(self, command: list[str]) -> dict[str, float]:
        assert self.proc is not None
        cpu = _cpu_s(self.proc.pid)
        start = time.monotonic()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return {"wall": time.monotonic() - start, "cpu": _cpu_s(self.proc.pid) - cpu,
                "rss_mb": status_mib("VmHWM", self.proc.pid)}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
