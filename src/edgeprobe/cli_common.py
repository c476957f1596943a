"""What every command shares: the error boundary (exit 2 for people's errors, 3 for bugs,
130 for Ctrl-C) and the probe-file option. Only the CLI turns errors into messages."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from edgeprobe import defaults
from edgeprobe.errors import EdgeprobeError

F = TypeVar("F", bound=Callable[..., Any])

vantage_option = click.option(
    "--vantage", metavar="NAME",
    help="Where this run probes from [default: $EDGEPROBE_VANTAGE, then the host name].")
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
