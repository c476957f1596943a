"""`edgeprobe action`: one scheduled probe as a GitHub Actions step.

Probes (with incident state) — or, with ``merge_dir``, merges the vantages' runs found there
(the matrix workflow's last job: the incident is declared once, not once per vantage) —
writes JSON/HTML/Markdown into a folder for the artifact,
appends the Markdown to $GITHUB_STEP_SUMMARY, prints one annotation per finding, notifies
when asked, and writes the step's outputs to $GITHUB_OUTPUT.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import click

from edgeprobe.cli.common import config_option, fail_on_option, handle_errors, vantage_option
from edgeprobe.errors import EdgeprobeError
from edgeprobe.result.types import RunResult
from edgeprobe.vocabulary import BLAMING, CRITICAL, INFO, WARNING

LEVEL = {CRITICAL: "error", WARNING: "warning", INFO: "notice"}  # severity → workflow command


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_commands(run: RunResult) -> list[str]:
    """One workflow command per finding, titled with its target (the node, region, …)."""
    out = []
    for f in run.findings:
        state = f" [{f.state}]" if f.state else ""
        out.append(f"::{LEVEL[f.severity]} title={escape_property(f.target)}::"
                   f"{escape_data(f.kind + state + ': ' + f.summary)}")
    for d in run.notifications or ():
        if not d.ok:
            out.append(f"::warning title=notify::{escape_data(d.error or d.channel)}")
    return out


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)


def run_action(config_path: str, fail_on: str, state_path: str | None, notify_on: bool,
               out_dir: str, node: str | None = None, region: str | None = None,
               env: Mapping[str, str] = os.environ, stdout: TextIO = sys.stdout,
               vantage: str | None = None, merge_dir: str | None = None,
               expect: tuple[str, ...] = ()) -> int:
    from edgeprobe import config, pipeline, report
    from edgeprobe.fileio import atomic_write, check_output
    from edgeprobe.notify import Channels, notify_run
    from edgeprobe.result.files import exit_status

    out = Path(out_dir)
    paths = {"json": str(out / "run.json"), "html": str(out / "report.html"),
             "markdown": str(out / "summary.md")}
    try:
        settings = config.load(config_path)
        channels = Channels.from_env(env) if notify_on else None
        for path in paths.values():
            check_output(path)

        def write(run: RunResult) -> None:  # before the state is saved; again after notify
            report.write(run, paths)
        if merge_dir:  # one artifact folder per vantage, as actions/download-artifact does
            root = Path(merge_dir)
            files = sorted(root.glob("*/run.json")) or sorted(root.glob("*.json"))
            run = pipeline.merge([str(f) for f in files], state=state_path,
                                 policy=settings.incident, outputs=write,
                                 expect=expect)
        else:
            run = pipeline.probe(settings, pipeline.Scope.of(node, region), state=state_path,
                                 vantage=vantage or env.get("EDGEPROBE_VANTAGE") or None,
                                 outputs=write)
        for warning in run.warnings or ():
            stdout.write(f"::warning title=state::{escape_data(warning)}\n")
        html = report.reporter("html").render(run)  # rendered once: attached, then written
        if channels is not None and state_path and run.incident:
            run, _ = notify_run(run, state_path, channels, ("report.html", html.encode()))
        atomic_write(paths["html"], html)
        report.write(run, {"json": paths["json"], "markdown": paths["markdown"]})
    except EdgeprobeError as exc:
        stdout.write(f"::error title=edgeprobe::{escape_data(str(exc))}\n")
        _append(env.get("GITHUB_OUTPUT"), "ok=false\nexit-code=2\n")
        return 2
    _append(env.get("GITHUB_STEP_SUMMARY"), Path(paths["markdown"]).read_text(encoding="utf-8"))
    for line in workflow_commands(run):
        stdout.write(line + "\n")
    code = exit_status(run, fail_on)
    blaming = sum(1 for f in run.findings if f.severity in BLAMING)
    _append(env.get("GITHUB_OUTPUT"), "".join(f"{k}={v}\n" for k, v in {
        "ok": str(run.ok).lower(), "findings": blaming, "report": paths["html"],
        "json": paths["json"], "markdown": paths["markdown"],
        "incident": (run.incident.state if run.incident else "") or "none", "exit-code": code,
    }.items()))
    return code


@click.command("action")
@config_option
@fail_on_option
@click.option("--state", "state_path", metavar="FILE", help="Incident state file.")
@click.option("--notify/--no-notify", "notify_on", default=False, show_default=True,
              help="Notify GitHub/Discord/Slack on an incident change (needs --state).")
@click.option("--out", "out_dir", default="edgeprobe-report", show_default=True, metavar="DIR",
              help="Where run.json, report.html and summary.md go (the artifact).")
@click.option("--node", help="Probe only this node.")
@click.option("--region", help="Probe only this region.")
@vantage_option
@click.option("--merge", "merge_dir", metavar="DIR",
              help="Merge the vantages' runs in DIR (*/run.json) instead of probing.")
@click.option("--expect-vantages", "expect", default="", metavar="A,B,…",
              help="With --merge: the vantages whose runs should be there; one missing is "
                   "named, the rest merged.")
@handle_errors
def action_command(config_path: str | None, fail_on: str, state_path: str | None, notify_on: bool,
           out_dir: str, node: str | None, region: str | None, vantage: str | None,
           merge_dir: str | None, expect: str) -> None:
    """Run as a GitHub Actions step: probe, reports, step summary, annotations, outputs."""
    from edgeprobe import config

    if notify_on and not state_path:
        raise click.UsageError("--notify needs --state (the incident state file)")
    sys.exit(run_action(config_path or config.default_path(), fail_on, state_path, notify_on,
                        out_dir, node, region, vantage=vantage, merge_dir=merge_dir,
                        expect=tuple(v.strip() for v in expect.split(",") if v.strip())))
