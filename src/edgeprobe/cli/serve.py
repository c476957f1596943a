"""`edgeprobe serve`: the command (the server is serve/server.py)."""

from __future__ import annotations

import click

from edgeprobe.cli.common import config_option, handle_errors


@click.command("serve")
@config_option
@click.option("--listen", metavar="IP:PORT",
              help="Address to serve on [default: [serve] listen, 127.0.0.1:9330].")
@click.option("--interval", "interval_s", type=click.FloatRange(min=1, max=86_400),
              metavar="SECONDS", help="Seconds between runs [default: [serve] interval_s, 60].")
@click.option("--state", "state_path", metavar="FILE",
              help="Incident state file (default: kept in memory).")
@handle_errors
def serve_command(config_path: str | None, listen: str | None, interval_s: float | None,
                  state_path: str | None) -> None:
    """Probe on a timer; serve /metrics, the report, /run.json and /healthz."""
    import asyncio

    from edgeprobe import config
    from edgeprobe.config.checks import parse_listen
    from edgeprobe.errors import ConfigError
    from edgeprobe.serve.server import serve

    settings = config.load(config_path or config.default_path())
    try:
        host, port = parse_listen(listen or settings.serve.listen)
    except ValueError as exc:
        raise ConfigError("--listen", None, str(exc)) from None
    asyncio.run(serve(settings, host, port, state_path, interval_s or settings.serve.interval_s))
