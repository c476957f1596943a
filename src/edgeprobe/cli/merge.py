"""`edgeprobe merge`: the command (the merging itself is merge/)."""

from __future__ import annotations

import click

from edgeprobe.cli.common import fail_on_option, finish, handle_errors, report_writer
from edgeprobe.config import defaults


@click.command("merge")
@click.argument("run_files", nargs=-1, metavar="RUN.json...")
@click.option("--json", "json_path", metavar="FILE|-", help="Write the merged run (run@2).")
@click.option("--html", "html_path", metavar="FILE", help="Write the HTML report.")
@click.option("--markdown", "markdown_path", metavar="FILE",
              help="Write the Markdown summary (e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--state", "state_path", metavar="FILE",
              help="Incident state: the merged run declares, updates or resolves it once.")
@click.option("--confirm-runs", type=click.IntRange(min=1, max=1000), default=defaults.CONFIRM_RUNS,
              show_default=True, help="With --state: runs a finding must be seen in before it "
              "declares an incident (the probe file's [incident] confirm_runs).")
@click.option("--max-spread", "max_spread_s", type=click.FloatRange(min=0),
              default=defaults.MERGE_MAX_SPREAD_S,
              show_default=True, metavar="SECONDS",
              help="Refuse runs that started further apart than this.")
@fail_on_option
@click.option("--expect", "expect", multiple=True, metavar="VANTAGE",
              help="A vantage whose run should be there (repeatable): one missing is named "
                   "in the merged run's warnings, the rest merged.")
@click.option("-q", "--quiet", is_flag=True, help="No terminal summary.")
@handle_errors
def merge_command(run_files: tuple[str, ...], json_path: str | None, html_path: str | None,
                  markdown_path: str | None, state_path: str | None, confirm_runs: int,
                  max_spread_s: float, fail_on: str, expect: tuple[str, ...],
                  quiet: bool) -> None:
    """Merge several vantages' runs of one probe file into one verdict."""
    from edgeprobe import pipeline
    from edgeprobe.fileio import check_output

    for path in (json_path, html_path, markdown_path):  # before anything else
        if path and path != "-":
            check_output(path)
    run = pipeline.merge(run_files, state=state_path, confirm_runs=confirm_runs,
                         max_spread_s=max_spread_s,
                         outputs=report_writer(json_path, html_path, markdown_path),
                         expect=expect)
    finish(run, json_path, quiet, fail_on)
