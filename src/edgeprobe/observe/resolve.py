"""Stage 1: each node's own addresses, through the site's nameservers (A and AAAA).

dnspython is imported only when a node has a name to resolve: a fleet of pinned addresses
starts ~0.1 s sooner without it (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dns.asyncresolver

from edgeprobe.config.settings import DnsSettings, NodeSettings
from edgeprobe.errors import DnsError
from edgeprobe.observe.observations import Resolution


def make_resolver(settings: DnsSettings) -> dns.asyncresolver.Resolver:
    """The site's nameservers when given (with ports), else the system's configuration."""
    import dns.asyncresolver
    import dns.nameserver
    import dns.resolver

    try:
        resolver = dns.asyncresolver.Resolver(configure=not settings.nameservers)
    except dns.resolver.NoResolverConfiguration as exc:
        raise DnsError("error", "no system resolver configuration; set [dns].nameservers") from exc
    if settings.nameservers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ns.address, ns.port)
                                for ns in settings.nameservers]
    resolver.timeout = settings.timeout_s
    resolver.lifetime = settings.timeout_s
    return resolver


async def query_addresses(resolver: dns.asyncresolver.Resolver, host: str,
                          rdtype: str) -> list[str]:
    """Addresses of one type; an empty list for NOERROR/NODATA, a DnsError for real failures."""
    import dns.exception
    import dns.resolver

    try:
        answer = await resolver.resolve(host, rdtype, search=False)
    except dns.resolver.NoAnswer:
        return []
    except dns.resolver.NXDOMAIN as exc:
        raise DnsError("nxdomain", f"{host} does not exist (NXDOMAIN)") from exc
    except dns.resolver.NoNameservers as exc:
        raise DnsError("servfail", f"{host}: no nameserver answered usefully (SERVFAIL or "
                       "refused)") from exc
    except dns.exception.Timeout as exc:
        raise DnsError("timeout", f"{host}: DNS timed out") from exc
    except dns.exception.DNSException as exc:
        raise DnsError("error", f"{host}: {exc}") from exc
    return [rr.address for rr in answer]


async def resolve_node(resolver: dns.asyncresolver.Resolver | None, node: NodeSettings,
                       nameservers: tuple[str, ...]) -> Resolution:
    """Pinned addresses skip DNS; otherwise A and AAAA at once. Never raises."""
    if node.addresses:
        return Resolution(node.name, node.host, node.addresses, pinned=True)
    host = node.host or ""
    try:
        return Resolution(node.name, host, (str(ipaddress.ip_address(host)),), pinned=True)
    except ValueError:
        pass
    try:
        if resolver is None:
            raise DnsError("error", "no resolver")
        results = await asyncio.gather(query_addresses(resolver, host, "A"),
                                       query_addresses(resolver, host, "AAAA"),
                                       return_exceptions=True)
        addresses: list[str] = []
        errors = []
        for result in results:
            if isinstance(result, DnsError):
                errors.append(result)
            elif isinstance(result, BaseException):
                raise result
            else:
                addresses.extend(result)
        if not addresses:
            if errors:
                raise errors[0]
            raise DnsError("no_address", f"{host} has no A or AAAA record")
    except DnsError as exc:
        return Resolution(node.name, host, error_kind=exc.kind, error=str(exc),
                          nameservers=nameservers)
    return Resolution(node.name, host, tuple(addresses), nameservers=nameservers)


async def resolve_all(settings: DnsSettings, nodes: tuple[NodeSettings, ...]) -> list[Resolution]:
    """One Resolution per node, in order."""
    nameservers = tuple(str(ns) for ns in settings.nameservers) or ("system",)
    resolver: dns.asyncresolver.Resolver | None = None
    setup_error: DnsError | None = None
    if any(not n.addresses for n in nodes):
        try:
            resolver = make_resolver(settings)
        except DnsError as exc:
            setup_error = exc
    if setup_error is not None:
        return [Resolution(n.name, n.host, n.addresses, pinned=True) if n.addresses else
                Resolution(n.name, n.host, error_kind=setup_error.kind, error=str(setup_error))
                for n in nodes]
    return list(await asyncio.gather(*(resolve_node(resolver, n, nameservers) for n in nodes)))
