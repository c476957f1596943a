"""`edgeprobe probe all|node|region`, `report` and `notify`: the commands that make, re-render
and announce one run. Thin: parse, call the pipeline, map the result to an exit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from edgeprobe.cli.common import (
    config_option,
    fail_on_option,
    finish,
    handle_errors,
    print_summary,
    report_writer,
    vantage_option,
)

F = TypeVar("F", bound=Callable[..., Any])


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
    from edgeprobe.cli.progress import ProgressLine
    from edgeprobe.fileio import check_output

    settings = config.load(config_path or config.default_path())
    scope = pipeline.Scope.of(node, region)
    for path in (json_path, html_path, markdown_path):  # before, not after, probing
        if path and path != "-":
            check_output(path)
    progress = ProgressLine(len(scope.select(settings).nodes))
    progress.enabled = progress.enabled and not quiet
    try:
        run = pipeline.probe(settings, scope, state=state_path, progress=progress,
                             vantage=vantage,
                             outputs=report_writer(json_path, html_path, markdown_path))
    finally:
        progress.clear()
    finish(run, json_path, quiet, fail_on)


@click.group()
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


# -- report ------------------------------------------------------------------------------------
@click.command()
@click.argument("run_file", metavar="RUN.json")
@click.option("--html", "html_path", metavar="FILE", help="Write the HTML report.")
@click.option("--markdown", "markdown_path", metavar="FILE", help="Write the Markdown summary.")
@handle_errors
def report(run_file: str, html_path: str | None, markdown_path: str | None) -> None:
    """Re-render a saved run result (prints the summary when no file is asked for)."""
    from edgeprobe import report as reports
    from edgeprobe.result.files import load_run

    run = load_run(run_file)
    written = reports.write(run, {"html": html_path, "markdown": markdown_path})
    if not written:
        print_summary(run, to_stderr=False)


# -- scheduled use -----------------------------------------------------------------------------
@click.command()
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


