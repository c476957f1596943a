"""The fetch stage alone — every sampled object from every node, as `probe all` fetches
them, with no bucket check, canary, browser checks, analysis or report — beside the bare
Python loop, so the per-check cost of edgeprobe's own fetch shows apart from the rest of a
run.

    python bench/fetch_only.py bench.toml [--rounds 3] [--processes N]

Run it against a fleet `bench/run.py --hold` keeps up, with the same probe file. Prints
wall and CPU seconds (this process and its worker processes) for each round.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import resource
import statistics
import time


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("probe_file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, help="[probe] processes (default: the file's)")
    args = parser.parse_args()

    from edgeprobe import config
    from edgeprobe.observe.fetch import fetch_all
    from edgeprobe.observe.observations import SampleObject
    from edgeprobe.observe.resolve import resolve_all
    from edgeprobe.observe.targets import node_targets

    settings = config.load(args.probe_file)
    probe = settings.probe if args.processes is None else dataclasses.replace(
        settings.probe, processes=args.processes)
    targets = node_targets(settings, asyncio.run(resolve_all(settings.dns, settings.nodes)))
    objects = [SampleObject(p, p.lstrip("/"), "paths") for p in settings.samples.paths]
    walls = []
    for _ in range(args.rounds):
        cpu, start = _cpu(), time.monotonic()
        answers = asyncio.run(fetch_all(settings.site, probe, targets, objects))
        walls.append(time.monotonic() - start)
        print(f"{len(answers)} answers: {walls[-1]:.2f} s wall, {_cpu() - cpu:.2f} s CPU",
              flush=True)
    print(f"median {statistics.median(walls):.2f} s, processes {probe.processes}")


if __name__ == "__main__":
    main()
