"""What every command shares: the error boundary (exit 2 for people's errors, 3 for bugs,
130 for Ctrl-C), the shared options, and the end of a command that produced a run (the
reports, the terminal summary, the exit status). Only the CLI turns errors into messages."""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from edgeprobe.config import defaults
from edgeprobe.errors import EdgeprobeError
from edgeprobe.vocabulary import FAIL_ON

if TYPE_CHECKING:
    from edgeprobe.result.types import RunResult

F = TypeVar("F", bound=Callable[..., Any])

vantage_option = click.option(
    "--vantage", metavar="NAME",
    help="Where this run probes from [default: $EDGEPROBE_VANTAGE, then the host name].")
fail_on_option = click.option(
    "--fail-on", type=click.Choice(FAIL_ON), default=defaults.FAIL_ON, show_default=True,
    help="Exit 1 when a finding is at or above this.")
config_option = click.option(
    "-c", "--config", "config_path", metavar="PROBE.toml",
    help=f"Probe file [default: ${defaults.CONFIG_ENV}, then {defaults.CONFIG_PATH}].")


def _fail(message: str) -> None:
    click.echo(f"edgeprobe: error: {message}", err=True)
    sys.exit(2)


EXIT_BUG = 3  # an unexpected exception: never 1, which means "findings"
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def handle_errors(fn: F) -> F:
    """Errors meant for people become one line on stderr and exit 2; Ctrl-C exits 130 with
    nothing half-written; anything else is a bug: its traceback and exit 3, so cron, systemd
    and CI never count a crash as a run with findings (exit 1)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EdgeprobeError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            click.echo("edgeprobe: interrupted; nothing was written", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception:
            import traceback

            traceback.print_exc()
            click.echo(f"edgeprobe: internal error (a bug; exit {EXIT_BUG}): please report it "
                       "with the traceback above", err=True)
            sys.exit(EXIT_BUG)
    return wrapper  # type: ignore[return-value]


def _use_colour(stream: Any) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def print_summary(run: RunResult, to_stderr: bool) -> None:
    from edgeprobe.report import reporter

    stream = sys.stderr if to_stderr else sys.stdout
    width = shutil.get_terminal_size((80, 24)).columns
    text = reporter("terminal", colour=_use_colour(stream), width=width).render(run)
    stream.write(actions_inert(text))
    stream.flush()


def actions_inert(text: str, env: Any = os.environ) -> str:
    """In a GitHub Actions log, text that quotes servers is wrapped in ``stop-commands``
    with a random token, so no line of it (``::error …`` at a line start, ``##[`` anywhere)
    is ever taken as a workflow command; findings reach the log as annotations only through
    the escaped path (`edgeprobe action`)."""
    if env.get("GITHUB_ACTIONS") != "true":
        return text
    import secrets

    token = secrets.token_hex(16)
    return f"::stop-commands::{token}\n{text}::{token}::\n"


def report_writer(json_path: str | None, html_path: str | None,
                  markdown_path: str | None) -> Callable[[RunResult], object]:
    """What writes `probe`'s and `merge`'s reports; the pipeline calls it before it saves
    the incident state (a failed write then loses no declaration)."""
    def write(run: RunResult) -> object:
        from edgeprobe import report

        return report.write(run, {"json": json_path, "html": html_path,
                                  "markdown": markdown_path})
    return write


def finish(run: RunResult, json_path: str | None, quiet: bool, fail_on: str) -> None:
    """The end of `probe` and `merge` (the reports are written): warnings, the summary,
    the exit."""
    from edgeprobe.result.files import exit_status

    for warning in run.warnings or ():
        click.echo(f"edgeprobe: warning: {warning}", err=True)
    if not quiet:
        print_summary(run, to_stderr=json_path == "-")
    sys.exit(exit_status(run, fail_on))
