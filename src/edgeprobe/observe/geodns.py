"""Stage 1b: who gets which edge — the media host asked of its zone's authoritative servers
with each view's subnets as the EDNS Client Subnet (RFC 7871).

GeoDNS services (Route 53 geolocation/latency, Google Cloud DNS geo routing, gdnsd's geoip
plugin, PowerDNS's geoip backend) choose an answer by the ECS of a query. Asked directly
(public resolvers strip or clamp ECS), they say from one machine which edges each group of
users is sent to. The answer's scope prefix says whether the answer depended on the subnet:
0 means the same for everyone (a server that ignores ECS).

Servers: ``[dns] authoritative``, or the zone's NS records found through ``[dns]
nameservers`` (or the system's resolver): no query goes to a public resolver the probe file
does not name. Each query goes to the servers in turn until one answers; nothing raises — a
failure is a ViewAnswer with its error.
"""

from __future__ import annotations

import asyncio
import ipaddress

import dns.asyncquery
import dns.asyncresolver
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver

from edgeprobe.config.settings import DnsSettings, NameserverSettings, ViewSettings
from edgeprobe.errors import DnsError
from edgeprobe.observe.observations import ViewAnswer
from edgeprobe.observe.resolve import make_resolver, query_addresses

RDTYPES = ("A", "AAAA")


async def authoritative_servers(settings: DnsSettings, host: str) -> list[NameserverSettings]:
    """The configured servers, or the zone's NS hosts' addresses (a DnsError when there are
    none)."""
    if settings.authoritative:
        return list(settings.authoritative)
    resolver = make_resolver(settings)
    try:
        zone = await dns.asyncresolver.zone_for_name(host, resolver=resolver)
        ns = await resolver.resolve(zone, "NS", search=False)
    except dns.exception.DNSException as exc:
        raise DnsError("no_authoritative", f"cannot find the authoritative servers of {host}'s "
                       f"zone ({type(exc).__name__}); set [dns] authoritative") from exc
    names = sorted(str(r.target) for r in ns)
    found = await asyncio.gather(*(query_addresses(resolver, n, t) for n in names
                                   for t in RDTYPES), return_exceptions=True)
    addresses = [a for group in found if isinstance(group, list) for a in group]
    if not addresses:
        raise DnsError("no_authoritative", f"the NS hosts of {zone} ({', '.join(names)}) have "
                       "no address; set [dns] authoritative")
    return [NameserverSettings(a) for a in dict.fromkeys(addresses)]


async def _ask(host: str, rdtype: str, subnet: str, servers: list[NameserverSettings],
               timeout_s: float, view: str) -> ViewAnswer:
    net = ipaddress.ip_network(subnet)
    ecs = dns.edns.ECSOption(str(net.network_address), net.prefixlen)
    query = dns.message.make_query(host, rdtype, use_edns=0, options=[ecs], want_dnssec=False)
    query.flags &= ~dns.flags.RD  # an authoritative question
    errors = []
    for server in servers:
        try:
            answer, _ = await dns.asyncquery.udp_with_fallback(
                query, server.address, timeout=timeout_s, port=server.port)
        except (dns.exception.DNSException, OSError) as exc:
            timeout = isinstance(exc, dns.exception.Timeout)
            errors.append(f"{server}: {'timeout' if timeout else type(exc).__name__}")
            continue
        rcode = answer.rcode()
        if rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED):
            errors.append(f"{server}: {dns.rcode.to_text(rcode)}")
            continue
        scope = next((o.scopelen for o in answer.options if isinstance(o, dns.edns.ECSOption)),
                     None)
        if rcode == dns.rcode.NXDOMAIN:
            return ViewAnswer(view, subnet, rdtype, str(server), scope=scope,
                              error_kind="nxdomain", error=f"{host} does not exist (NXDOMAIN)")
        wanted = dns.rdatatype.from_text(rdtype)
        records = [rrset for rrset in answer.answer if rrset.rdtype == wanted]
        addresses = tuple(sorted(r.address for rrset in records for r in rrset))
        ttl = min((rrset.ttl for rrset in records), default=None)
        return ViewAnswer(view, subnet, rdtype, str(server), addresses, ttl, scope)
    kind = "timeout" if errors and all(e.endswith("timeout") for e in errors) else "servfail"
    return ViewAnswer(view, subnet, rdtype, None, error_kind=kind,
                      error=f"no authoritative server answered: {'; '.join(errors)}")


async def ask_views(settings: DnsSettings, host: str,
                    views: tuple[ViewSettings, ...]) -> tuple[ViewAnswer, ...]:
    """A and AAAA of ``host`` for every subnet of every view (none without views)."""
    if not views:
        return ()
    try:
        servers = await authoritative_servers(settings, host)
    except DnsError as exc:
        return tuple(ViewAnswer(v.name, s, t, None, error_kind=exc.kind, error=str(exc))
                     for v in views for s in v.subnets for t in RDTYPES)
    return tuple(await asyncio.gather(*(_ask(host, t, s, servers, settings.timeout_s, v.name)
                                        for v in views for s in v.subnets for t in RDTYPES)))
