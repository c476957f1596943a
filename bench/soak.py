"""Soak: `edgeprobe serve`'s run loop for many runs against the lab fleet, printing its RSS.

    .venv/bin/python bench/soak.py --runs 1000

Runs the server's own ``run_once`` back to back (no wait between runs) with a broken edge,
rendering the /metrics text after each run, and prints this process's RSS every 100 runs
and the growth from run 100 to the last. The lab fleet runs in a child process
(`edgeprobe lab --print-config`), so the figures are the server's alone. Memory must stay
flat: only the latest run is kept (docs/metrics.md). Not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc

from procmem import status_mib


async def soak(runs: int) -> None:
    import signal
    import subprocess
    import sys
    import tempfile

    from prometheus_client import generate_latest

    from edgeprobe import config
    from edgeprobe.serve.server import Server

    lab = subprocess.Popen([sys.executable, "-m", "edgeprobe", "lab", "--print-config",
                            "--fault", "cdn-fremont-1=s3_disabled"],
                           stdout=subprocess.PIPE, text=True)
    assert lab.stdout is not None
    lines = []
    for line in lab.stdout:  # the probe file ends with the last view (eu-central)
        lines.append(line)
        if line.startswith('subnets = ["192.0.2.0/24"]'):
            break
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as probe_file:
            probe_file.write("".join(lines))
        server = Server(config.load(probe_file.name), None, interval_s=0)
        marks: dict[int, float] = {}
        for i in range(1, runs + 1):
            await server.run_once()
            generate_latest(server.registry)
            if i % 100 == 0 or i == 1:
                gc.collect()
                marks[i] = status_mib("VmRSS")
                print(f"run {i:5d}: RSS {marks[i]:6.1f} MB, "
                      f"{server.state.runs['ok']} ok, {server.state.runs['failed']} failed",
                      flush=True)
        first = marks.get(100, marks[1])
        print(f"growth from run {100 if 100 in marks else 1} to {runs}: "
              f"{marks[max(marks)] - first:+.1f} MB")
    finally:
        lab.send_signal(signal.SIGINT)
        lab.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    asyncio.run(soak(parser.parse_args().runs))


if __name__ == "__main__":
    main()
