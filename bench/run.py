"""Benchmark: `edgeprobe probe all` against `curl --parallel` and blackbox_exporter on the
same real nginx fleet.

    .venv/bin/python bench/run.py                      # 20 nodes × 200 objects of ~64 KiB
    .venv/bin/python bench/run.py --objects 16 --size 2097152   # big objects: RSS must not grow

Both fetch every object from every node, over TLS, pinned per node (edgeprobe by its own
connector per node, curl by --connect-to), after one warm-up pass that fills nginx's cache.
Needs Debian's nginx and curl, and the lab extra (moto, trustme). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/servers: the nginx driver
from blackbox import Blackbox
from blackbox import available as blackbox_available
from procmem import pss_mib, status_mib


class Stoppable(Protocol):
    def stop(self) -> None: ...


MEDIA_HOST = "media.bench.test"
PSS_EVERY = 10  # RSS samples (5 ms apart) per PSS sample


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _tree(pid: int) -> list[int]:
    """The process and its descendants (its worker processes, if any)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):  # a process that has just exited
            for task in Path(f"/proc/{current}/task").glob("*/children"):
                todo += [int(c) for c in task.read_text().split()]
    return found


def run_measured(cmd: list[str]) -> dict[str, float]:
    """Wall time, CPU seconds (os.wait4's rusage: the child and the children it waited
    for) and peak RSS: the most the child and its worker processes held at once (their
    VmRSS summed, every 5 ms), and never less than the child's own VmHWM. A process forked
    to start a worker shows the parent's memory until it execs: it is the parent's, not
    counted again (summing every process's own peak did, and counted a worker of the
    fetch and one of the browser checks, which never run together, as if they did). Beside
    it, the most PSS they held at once (pss_mib: shared pages split between the processes
    that map them), read every PSS_EVERY samples only, as it costs ~0.4 ms a process."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root, peak, pss, samples = _cmdline(proc.pid), 0.0, 0.0, 0
    while True:
        tree = [each for each in _tree(proc.pid) if each == proc.pid or _cmdline(each) != root]
        peak = max(peak, status_mib("VmHWM", proc.pid),
                   sum(status_mib("VmRSS", each) for each in tree))
        if samples % PSS_EVERY == 0:
            pss = max(pss, sum(pss_mib(each) for each in tree))
        samples += 1
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.005)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} exited {proc.returncode}: {err[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": peak,
            "pss_mb": pss}


def _other_threads_cpu() -> float:
    """CPU seconds of this process's threads but the calling one: the S3 server's (moto
    answers edgeprobe's bucket check in threads of this process), not the sampling loop's."""
    return time.process_time() - time.thread_time()


def curl_config(path: Path, urls: list[tuple[str, str]], port: int, ca: Path) -> None:
    """One --next group per transfer, each pinned to its node with --connect-to."""
    lines = ["parallel", "parallel-max = 64", "silent", "show-error", "fail"]
    for i, (url, address) in enumerate(urls):
        if i:
            lines.append("next")
        lines += [f'url = "{url}"', f'connect-to = "{MEDIA_HOST}:{port}:{address}:{port}"',
                  f'cacert = "{ca}"', 'output = "/dev/null"']
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes per object")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64,
                        help="edgeprobe's [probe].concurrency (curl's --parallel-max stays 64)")
    parser.add_argument("--http1", action="store_true",
                        help="edges speak HTTP/1.1 only (default: HTTP/2 by ALPN, as "
                             "Mastodon's documented block listens)")
    parser.add_argument("--processes", type=int,
                        help="edgeprobe's [probe].processes (default: edgeprobe's own)")
    parser.add_argument("--profile", metavar="FILE",
                        help="also run edgeprobe once under cProfile, stats to FILE")
    parser.add_argument("--hold", action="store_true",
                        help="after the warm-up, print the probe file and the peers' commands "
                             "and keep the fleet up until Enter (for profiling by hand)")
    parser.add_argument("--stages", action="store_true",
                        help="also run edgeprobe once under bench/stages.py and print where "
                             "its wall time went, stage by stage")
    parser.add_argument("--py-spy", metavar="FILE", dest="pyspy",
                        help="also run edgeprobe once under py-spy (every thread, idle time "
                             "too), its folded stacks to FILE: where the wall time goes")
    args = parser.parse_args()
    for tool in ("nginx", "curl"):
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
            raise SystemExit(f"bench needs Debian's {tool}: apt-get install {tool}")

    import trustme

    from edgeprobe.lab.content import LabObject
    from edgeprobe.lab.s3 import BUCKET, LabS3
    from tests.servers.nginx import MastodonProxyEdge

    root = Path(tempfile.mkdtemp(prefix="edgeprobe-bench-"))
    s3 = LabS3()
    s3.start()
    objects = [LabObject(f"media_attachments/files/{i:03d}/000/000/original/{i:016x}.png",
                         args.size) for i in range(args.objects)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(s3.put, objects))
    ca = trustme.CA()
    cert = ca.issue_cert(MEDIA_HOST)
    ca_file, cert_file, key_file = root / "ca.pem", root / "cert.pem", root / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    port = 18443
    edges: list[Stoppable] = []  # the edges, and blackbox_exporter: stopped together
    try:
        for i in range(args.nodes):
            edge = MastodonProxyEdge(root, f"edge-{i}", f"127.0.2.{i + 1}", port, MEDIA_HOST,
                                     s3.endpoint.removeprefix("http://"), BUCKET, cert_file,
                                     key_file, http2=not args.http1)
            edge.start()
            edges.append(edge)
        paths = [f"/{o.key}" for o in objects]  # Mastodon's proxy serves keys at the root
        urls = [(f"https://{MEDIA_HOST}:{port}{p}", f"127.0.2.{n + 1}")
                for p in paths for n in range(args.nodes)]
        curl_config(root / "curl.cfg", urls, port, ca_file)
        probe = root / "bench.toml"
        probe.write_text("\n".join([
            "[site]", 'name = "bench"', f'media_url = "https://{MEDIA_HOST}:{port}"',
            f'ca_file = "{ca_file}"', "[origin]", f'bucket = "{BUCKET}"',
            f'endpoint_url = "{s3.endpoint}"', 'region = "us-east-1"', "anonymous = true",
            'url_prefix = "/"',
            "[samples]", f"paths = {json.dumps(paths)}", f"max = {len(paths)}",
            "[probe]", "timeout_s = 60.0", "slow_ms = 60000",
            f"concurrency = {args.concurrency}",
            *([f"processes = {args.processes}"] if args.processes is not None else []),
            *[f'[[nodes]]\nname = "edge-{n}"\nregion = "r{n % 4}"\naddresses = ["127.0.2.{n + 1}"]'
              for n in range(args.nodes)]]) + "\n")
        edgeprobe = str(Path(sys.executable).with_name("edgeprobe"))
        curl_cmd = ["curl", "--config", str(root / "curl.cfg")]
        (root / "bare.txt").write_text("".join(
            f"{url}\t{MEDIA_HOST}:{port}:{address}:{port}\n" for url, address in urls))
        bare_cmd = [sys.executable, str(Path(__file__).with_name("bare.py")),
                    str(root / "bare.txt"), str(ca_file)]
        # Python's ceiling on every core: one bare loop per core, each with its share of the
        # nodes (as edgeprobe shares them) and of the transfers in flight
        cores = len(os.sched_getaffinity(0))
        for i in range(cores):
            (root / f"bare-{i}.txt").write_text("".join(
                f"{url}\t{MEDIA_HOST}:{port}:{address}:{port}\n" for url, address in urls
                if int(address.rsplit(".", 1)[1]) % cores == i))
        bares_cmd = ["sh", "-c", "".join(
            shlex.join([sys.executable, str(Path(__file__).with_name("bare.py")),
                        str(root / f"bare-{i}.txt"), str(ca_file),
                        "--parallel", str(max(1, args.concurrency // cores))]) + f" & p{i}=$!; "
            for i in range(cores)) + "".join(f"wait $p{i} || exit 1; " for i in range(cores))]
        ep_cmd = [edgeprobe, "probe", "all", "-c", str(probe), "--json", str(root / "run.json"),
                  "-q", "--fail-on", "never"]
        run_measured(curl_cmd)  # warm-up: fills every edge's proxy_cache
        stages = ""
        if args.hold:
            print("edgeprobe:", " ".join(ep_cmd), "\ncurl:", " ".join(curl_cmd),
                  "\nbare:", " ".join(bare_cmd), "\nbares:", " ".join(bares_cmd), flush=True)
            input("fleet up; Enter stops it\n")
            return
        one_bare, all_bares = "bare Python + libcurl + MD5", f"the same, {cores} processes"
        results: dict[str, list[dict[str, float]]] = {"edgeprobe": [], "curl": [],
                                                      one_bare: [], all_bares: []}
        blackbox = None
        if blackbox_available():
            blackbox = Blackbox(root, MEDIA_HOST, port, ca_file)
            blackbox.start()
            edges.append(blackbox)  # stopped with them
            bb_cmd = blackbox.driver(root / "blackbox.cfg", [
                f"https://{address}:{port}{path}" for path in paths
                for address in (f"127.0.2.{n + 1}" for n in range(args.nodes))])
            results["blackbox_exporter"] = []
        else:
            print("(blackbox_exporter not installed: apt-get install prometheus-blackbox-exporter)",
                  file=sys.stderr)
        s3_cpu = []  # the bucket's CPU during each edgeprobe run: it shares the cores
        for _ in range(args.rounds):
            before = _other_threads_cpu()
            results["edgeprobe"].append(run_measured(ep_cmd))
            s3_cpu.append(_other_threads_cpu() - before)
            results["curl"].append(run_measured(curl_cmd))
            results[one_bare].append(run_measured(bare_cmd))
            results[all_bares].append(run_measured(bares_cmd))
            if blackbox is not None:
                results["blackbox_exporter"].append(blackbox.measure(bb_cmd))
        if args.profile:
            run_measured([sys.executable, "-m", "cProfile", "-o", args.profile, "-m",
                          "edgeprobe", *ep_cmd[1:]])
        if args.stages:
            proc = subprocess.run([sys.executable, str(Path(__file__).with_name("stages.py")),
                                   *ep_cmd[1:]], capture_output=True, text=True, check=False)
            stages = proc.stdout
        if args.pyspy:
            subprocess.run(["py-spy", "record", "--threads", "--idle", "--rate", "500",
                            "--format", "raw", "-o", args.pyspy, "--", *ep_cmd],
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run = json.loads((root / "run.json").read_text())
        checks = args.nodes * args.objects
        assert run["ok"] and run["counts"]["checks"] == checks, run["findings"][:3]
        helps = [run_measured([edgeprobe, "--help"])["wall"] for _ in range(10)]
        print(report(args, checks, results, statistics.median(helps)))
        print(f"the bucket (moto, in this process) during edgeprobe's runs: "
              f"{statistics.median(s3_cpu):.2f} CPU s (median), on the same cores")
        if args.stages:
            print(f"\nOne more edgeprobe run, stage by stage:\n\n```\n{stages}```")
    finally:
        for server in edges:
            server.stop()
        s3.stop()
        shutil.rmtree(root, ignore_errors=True)


def report(args: argparse.Namespace, checks: int, results: dict[str, list[dict[str, float]]],
           help_s: float) -> str:
    def med(tool: str, key: str) -> float:
        return float(statistics.median(r[key] for r in results[tool]))

    def pss(tool: str) -> str:  # blackbox_exporter's is a server's, measured otherwise
        found = [r["pss_mb"] for r in results[tool] if "pss_mb" in r]
        return f"{max(found):.0f}" if found else "–"

    rate = {t: checks / med(t, "wall") for t in results}
    lines = [
        f"{args.nodes} nginx edges × {args.objects} objects of {args.size} bytes = {checks} "
        f"fetches a run; median of {args.rounds} runs; {os.cpu_count()} CPUs; edgeprobe "
        f"concurrency {args.concurrency}, processes "
        f"{'default' if args.processes is None else args.processes}; edges speak "
        f"{'HTTP/1.1 only' if args.http1 else 'HTTP/2 (ALPN)'}",
        "",
        "| tool | wall s | objects/s | CPU s | peak RSS MiB | peak PSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for tool in results:
        lines.append(f"| {tool} | {med(tool, 'wall'):.2f} | {rate[tool]:.0f} | "
                     f"{med(tool, 'cpu'):.2f} | {max(r['rss_mb'] for r in results[tool]):.0f} | "
                     f"{pss(tool)} |")
    lines += ["", f"edgeprobe/curl objects/s: {rate['edgeprobe'] / rate['curl']:.2f}"]
    if "blackbox_exporter" in rate:
        lines.append(f"edgeprobe/blackbox_exporter objects/s: "
                     f"{rate['edgeprobe'] / rate['blackbox_exporter']:.2f}")
    lines.append(f"`edgeprobe --help`: {help_s * 1000:.0f} ms (median of 10)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
