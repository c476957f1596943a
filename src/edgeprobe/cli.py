"""The command line (docs/cli.md). Thin: parse, call the library, map the result to an exit.

Exit status: 0 nothing at or above --fail-on; 1 findings at or above it; 2 bad usage, bad
probe file, or the probe could not run. Heavy modules are imported inside the commands so
that ``edgeprobe --help`` starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from edgeprobe import __version__, defaults, vocabulary
from edgeprobe.cli_common import (
    config_option,
    finish,
    handle_errors,
    print_summary,
    vantage_option,
)
from edgeprobe.cli_config import config_group
from edgeprobe.cli_merge import merge_command
from edgeprobe.cli_serve import serve_command

if TYPE_CHECKING:
    pass

F = TypeVar("F", bound=Callable[..., Any])
FAIL_ON = vocabulary.FAIL_ON


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgeprobe")
def main() -> None:
    """Probe every CDN edge node of a site directly and name the broken one."""


# -- shared options -------------------------------------------------------------------------------
fail_on_option = click.option(
    "--fail-on", type=click.Choice(FAIL_ON), default=defaults.FAIL_ON, show_default=True,
    help="Exit 1 when a finding is at or above this.")


# -- probe ---------------------------------------------------------------------------------------
def probe_options(fn: F) -> F:
    options = [
        config_option,
        click.option("--json", "json_path", metavar="FILE|-",
                     help="Write the run result as JSON ('-' for stdout, and nothing else "
                          "goes there)."),
        click.option("--html", "html_path", metavar="FILE", help="Write the HTML report."),
        click.option("--markdown", "markdown_path", metavar="FILE",
                     help="Write the Markdown summary (e.g. $GITHUB_STEP_SUMMARY)."),
        fail_on_option,
        click.option("-q", "--quiet", is_flag=True, help="No summary and no progress line."),
        click.option("--state", "state_path", metavar="FILE",
                     help="Incident state across runs: marks findings new/ongoing/resolved "
                          "and declares an incident after [incident].confirm_runs runs (left "
                          "unchanged by `probe node|region`)."),
        vantage_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def run_probe_command(config_path: str | None, json_path: str | None, html_path: str | None,
                      markdown_path: str | None, fail_on: str, quiet: bool,
                      state_path: str | None, vantage: str | None = None,
                      node: str | None = None, region: str | None = None) -> None:
    from edgeprobe import config, pipeline
    from edgeprobe.fileio import check_output
    from edgeprobe.progress import ProgressLine

    settings = config.load(config_path or config.default_path())
    scope = pipeline.Scope.of(node, region)
    for path in (json_path, html_path, markdown_path):  # before, not after, probing
        if path and path != "-":
            check_output(path)
    progress = ProgressLine(len(scope.select(settings).nodes))
    progress.enabled = progress.enabled and not quiet
    try:
        run = pipeline.probe(settings, scope, state=state_path, progress=progress,
                             vantage=vantage)
    finally:
        progress.clear()
    finish(run, json_path, html_path, markdown_path, quiet, fail_on)


@main.group()
def probe() -> None:
    """Probe the fleet: every sampled object from every node, against the bucket."""


@probe.command("all")
@probe_options
@handle_errors
def probe_all(**options: Any) -> None:
    """Probe every node of the probe file."""
    run_probe_command(**options)


@probe.command("node")
@click.argument("name")
@probe_options
@handle_errors
def probe_node(name: str, **options: Any) -> None:
    """Probe one node, judged against the bucket."""
    run_probe_command(node=name, **options)


@probe.command("region")
@click.argument("region")
@probe_options
@handle_errors
def probe_region(region: str, **options: Any) -> None:
    """Probe the nodes of one region."""
    run_probe_command(region=region, **options)


# -- report ----------------------------------------------------------------------------------------
@main.command()
@click.argument("run_file", metavar="RUN.json")
@click.option("--html", "html_path", metavar="FILE", help="Write the HTML report.")
@click.option("--markdown", "markdown_path", metavar="FILE", help="Write the Markdown summary.")
@handle_errors
def report(run_file: str, html_path: str | None, markdown_path: str | None) -> None:
    """Re-render a saved run result (prints the summary when no file is asked for)."""
    from edgeprobe import report as reports
    from edgeprobe import run_result

    run = run_result.load(run_file)
    written = reports.write(run, {"html": html_path, "markdown": markdown_path})
    if not written:
        print_summary(run, to_stderr=False)


# -- scheduled use ---------------------------------------------------------------------------------
@main.command()
@click.argument("run_file", metavar="RUN.json")
@click.option("--state", "state_path", required=True, metavar="FILE",
              help="The state file the run was probed with (remembers the GitHub issue).")
@click.option("--report", "report_path", metavar="FILE",
              help="An HTML report to attach to the Discord message.")
@handle_errors
def notify(run_file: str, state_path: str, report_path: str | None) -> None:
    """Tell GitHub, Discord and Slack about an incident change (declared/updated/resolved).

    Channels come from the environment: GITHUB_TOKEN + GITHUB_REPOSITORY (issues),
    EDGEPROBE_DISCORD_WEBHOOK, EDGEPROBE_SLACK_WEBHOOK. A failed delivery is a warning
    recorded in RUN.json and retried where it can be; the exit status stays 0.
    """
    from edgeprobe.notify import notify as deliver

    _, deliveries = deliver(run_file, state_path, report_path)
    if not deliveries:
        click.echo("notify: nothing to send", err=True)
    for d in deliveries:
        line = f"notify: {d.channel} {d.action}" if d.ok else f"edgeprobe: warning: {d.error}"
        click.echo(line, err=True)


@main.command()
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
@handle_errors
def action(config_path: str | None, fail_on: str, state_path: str | None, notify_on: bool,
           out_dir: str, node: str | None, region: str | None, vantage: str | None,
           merge_dir: str | None) -> None:
    """Run as a GitHub Actions step: probe, reports, step summary, annotations, outputs."""
    from edgeprobe import config
    from edgeprobe.gha import run_action

    if notify_on and not state_path:
        raise click.UsageError("--notify needs --state (the incident state file)")
    sys.exit(run_action(config_path or config.default_path(), fail_on, state_path, notify_on,
                        out_dir, node, region, vantage=vantage, merge_dir=merge_dir))


# -- lab and demo ----------------------------------------------------------------------------------
@main.command()
@click.option("--out", default="reports", show_default=True, metavar="DIR",
              help="Where demo.json, demo.html and demo.md are written.")
@handle_errors
def demo(out: str) -> None:
    """Start the lab fleet with cdn-fremont-1 broken, probe it, write reports (exits 1)."""
    from edgeprobe.demo import run_demo
    from edgeprobe.run_result import exit_status

    run, written = run_demo(Path(out))
    print_summary(run, to_stderr=False)
    click.echo("wrote " + ", ".join(written))
    sys.exit(exit_status(run, defaults.FAIL_ON))


@main.command()
@click.option("--print-config", is_flag=True,
              help="Print a probe file that points at the running lab to stdout.")
@click.option("--fault", "faults", multiple=True, metavar="NODE=FAULT",
              help="Break a node (repeatable), e.g. cdn-fremont-1=s3_disabled.")
@handle_errors
def lab(print_config: bool, faults: tuple[str, ...]) -> None:
    """Run the lab fleet in the foreground until Ctrl-C, for trying things by hand."""
    from edgeprobe.demo import run_lab

    run_lab(print_config, faults)


main.add_command(config_group)
main.add_command(serve_command)
main.add_command(merge_command)
