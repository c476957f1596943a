"""`edgeprobe demo` and `edgeprobe lab`: the built-in fleet, for showing and for trying."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from edgeprobe.cli.common import handle_errors, print_summary
from edgeprobe.config import defaults
from edgeprobe.errors import LabError

if TYPE_CHECKING:
    from edgeprobe.result.types import RunResult

DEMO_FAULTS = {"cdn-fremont-1": {"s3_disabled"}}  # the December 2022 incident


def _parse_faults(items: tuple[str, ...]) -> dict[str, set[str]]:
    from edgeprobe.lab.edge import FAULTS

    faults: dict[str, set[str]] = {}
    for item in items:
        node, sep, fault = item.partition("=")
        if not sep or fault not in FAULTS:
            raise LabError(f"--fault {item!r}: use NODE=FAULT with a fault from: "
                           f"{', '.join(FAULTS)}")
        faults.setdefault(node, set()).add(fault)
    return faults


def run_demo(out: Path) -> tuple[RunResult, list[str]]:
    """Start the lab with cdn-fremont-1's S3 disabled, probe it, write the reports."""
    from edgeprobe import config, pipeline, report
    from edgeprobe.lab import require_extra

    require_extra()
    from edgeprobe.cli.progress import ProgressLine
    from edgeprobe.lab.fleet import LabOptions
    from edgeprobe.lab.thread import running_lab

    with running_lab(LabOptions(faults=DEMO_FAULTS)) as lab:
        # the lab answers in milliseconds: its re-test of a new failure need not wait seconds
        settings = config.load(lab.lab.write_probe("demo.toml", views=True, incident=(
            "retest_after_s = 0.5\nretest_again_after_s = 1.0")))
        progress = ProgressLine(len(settings.nodes))
        try:
            run = pipeline.probe(settings, progress=progress)
        finally:
            progress.clear()
    written = report.write(run, {"json": str(out / "demo.json"), "html": str(out / "demo.html"),
                                 "markdown": str(out / "demo.md")})
    return run, written


def run_lab(print_config: bool, fault_items: tuple[str, ...]) -> None:
    """Run until Ctrl-C (or SIGTERM); the probe file is printed or its path is told."""
    from edgeprobe.lab import require_extra

    require_extra()
    from edgeprobe.lab.fleet import LabOptions
    from edgeprobe.lab.thread import running_lab

    faults = _parse_faults(fault_items)
    with running_lab(LabOptions(faults=faults)) as lab:
        unknown = set(faults) - set(lab.lab.edges)
        if unknown:
            raise LabError(f"--fault names unknown node(s) {sorted(unknown)}; nodes: "
                           f"{', '.join(lab.lab.edges)}")
        path = lab.lab.write_probe(views=True)
        if print_config:
            sys.stdout.write(lab.lab.probe_toml(views=True))
            sys.stdout.flush()
        click.echo(f"lab fleet running: {len(lab.lab.edges)} edges, S3 at {lab.lab.s3.endpoint}, "
                   f"DNS at 127.0.0.1:{lab.lab.dns_port}", err=True)
        click.echo(f"probe file: {path}\ntry: edgeprobe probe all -c {path}\nCtrl-C stops it.",
                   err=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        click.echo("lab stopped", err=True)


# -- commands ----------------------------------------------------------------------------------
@click.command("demo")
@click.option("--out", default="reports", show_default=True, metavar="DIR",
              help="Where demo.json, demo.html and demo.md are written.")
@handle_errors
def demo_command(out: str) -> None:
    """Start the lab fleet with cdn-fremont-1 broken, probe it, write reports (exits 1)."""
    from edgeprobe.result.files import exit_status

    run, written = run_demo(Path(out))
    print_summary(run, to_stderr=False)
    click.echo("wrote " + ", ".join(written))
    sys.exit(exit_status(run, defaults.FAIL_ON))


@click.command("lab")
@click.option("--print-config", is_flag=True,
              help="Print a probe file that points at the running lab to stdout.")
@click.option("--fault", "faults", multiple=True, metavar="NODE=FAULT",
              help="Break a node (repeatable), e.g. cdn-fremont-1=s3_disabled.")
@handle_errors
def lab_command(print_config: bool, faults: tuple[str, ...]) -> None:
    """Run the lab fleet in the foreground until Ctrl-C, for trying things by hand."""
    run_lab(print_config, faults)
