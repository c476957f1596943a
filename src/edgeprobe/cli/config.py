"""`edgeprobe config check` and `edgeprobe config discover` (registered on the main group
in cli/__init__.py)."""

from __future__ import annotations

import click

from edgeprobe.cli.common import config_option, handle_errors


# -- config ----------------------------------------------------------------------------------------
@click.group("config")
def config_group() -> None:
    """Work with probe files."""


@config_group.command("check")
@config_option
@handle_errors
def config_check(config_path: str | None) -> None:
    """Validate a probe file and print what would be probed (resolving each node)."""
    from edgeprobe import config
    from edgeprobe.cli.describe import describe

    settings = config.load(config_path or config.default_path())
    click.echo(describe(settings))


@config_group.command("discover")
@click.argument("media_host")
@click.option("--view", "views", multiple=True, required=True, metavar="NAME=CIDR[,CIDR]",
              help="A view: its name and client subnets (repeat for each).")
@click.option("--authoritative", multiple=True, metavar="IP[:PORT]",
              help="The zone's authoritative server (default: its NS records).")
@click.option("--nameserver", multiple=True, metavar="IP[:PORT]",
              help="Resolver for NS and reverse DNS (default: the system's).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1, max=60), default=2.0,
              show_default=True, help="Seconds per DNS query.")
@click.option("--instance", metavar="URL",
              help="The Mastodon instance (https://…): [samples] through its public API, and "
                   "the media path prefix its media URLs show.")
@handle_errors
def config_discover(media_host: str, views: tuple[str, ...], authoritative: tuple[str, ...],
                    nameserver: tuple[str, ...], timeout_s: float,
                    instance: str | None) -> None:
    """Print [[nodes]] and [[views]] from what GeoDNS hands each view."""
    from edgeprobe.cli.discover import discover, parse_server, parse_view
    from edgeprobe.config.settings import DnsSettings

    dns_settings = DnsSettings(
        nameservers=tuple(parse_server(t, "--nameserver") for t in nameserver),
        timeout_s=timeout_s,
        authoritative=tuple(parse_server(t, "--authoritative") for t in authoritative))
    if instance is not None and not instance.startswith(("https://", "http://")):
        raise click.UsageError(f"--instance {instance!r}: use the instance's URL, https://…")
    click.echo(discover(dns_settings, media_host, tuple(parse_view(v) for v in views),
                        instance.rstrip("/") if instance else None), nl=False)
