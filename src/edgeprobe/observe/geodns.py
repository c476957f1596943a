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
failure is a ViewAnswer with its error. A media host published as a CNAME (to a CDN's or a
load balancer's name) is followed to its addresses, and the chain is reported.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import replace

import dns.asyncquery
import dns.asyncresolver
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from edgeprobe.config import defaults
from edgeprobe.config.settings import DnsSettings, NameserverSettings, ViewSettings
from edgeprobe.errors import DnsError
from edgeprobe.observe.observations import ViewAnswer
from edgeprobe.observe.resolve import make_resolver, query_addresses

RDTYPES = ("A", "AAAA")
MAX_CNAMES = 8  # names followed from the media host before a chain is a loop


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


def _chain(answer: dns.message.Message, host: str) -> tuple[str, ...]:
    """The CNAME chain an answer section holds from ``host`` on (names, in order)."""
    targets = {str(rrset.name).lower(): str(rrset[0].target).lower()
               for rrset in answer.answer if rrset.rdtype == dns.rdatatype.CNAME}
    chain: list[str] = []
    name = dns.name.from_text(host).to_text().lower()
    while name in targets and len(chain) <= MAX_CNAMES:
        name = targets[name]
        chain.append(name)
    return tuple(chain)


async def _query(name: str, rdtype: str, subnet: str, servers: list[NameserverSettings],
                 timeout_s: float) -> tuple[dns.message.Message | None, str | None, list[str]]:
    """The first usable answer (server, message) for ``name`` with the subnet as ECS, or the
    servers' errors."""
    net = ipaddress.ip_network(subnet)
    ecs = dns.edns.ECSOption(str(net.network_address), net.prefixlen)
    query = dns.message.make_query(name, rdtype, use_edns=0, options=[ecs], want_dnssec=False)
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
        return answer, str(server), errors
    return None, None, errors


async def _ask(host: str, rdtype: str, subnet: str, servers: list[NameserverSettings],
               settings: DnsSettings, view: str) -> ViewAnswer:
    """The view's answer for ``host``. A CNAME (to a CDN's or a load balancer's name) is
    followed, at most MAX_CNAMES names deep: at the same servers first, then at the target
    zone's own (its NS through ``[dns] nameservers``), always with the view's subnet; the
    addresses at the chain's end are the answer, and the chain is reported."""
    chain: tuple[str, ...] = ()
    name, asked = host, servers
    while True:
        answer, server, errors = await _query(name, rdtype, subnet, asked, settings.timeout_s)
        if answer is None and chain and asked is servers:
            try:  # the target's zone is served elsewhere: ask its own servers
                asked = await authoritative_servers(replace(settings, authoritative=()), name)
            except DnsError as exc:
                return ViewAnswer(view, subnet, rdtype, None, cname=chain,
                                  error_kind=exc.kind, error=str(exc))
            continue
        if answer is None:
            kind = "timeout" if errors and all(e.endswith("timeout") for e in errors) \
                else "servfail"
            return ViewAnswer(view, subnet, rdtype, None, cname=chain, error_kind=kind,
                              error=f"no authoritative server answered: {'; '.join(errors)}")
        scope = next((o.scopelen for o in answer.options
                      if isinstance(o, dns.edns.ECSOption)), None)
        if answer.rcode() == dns.rcode.NXDOMAIN:
            return ViewAnswer(view, subnet, rdtype, server, scope=scope, cname=chain,
                              error_kind="nxdomain", error=f"{name} does not exist (NXDOMAIN)")
        wanted = dns.rdatatype.from_text(rdtype)
        records = [rrset for rrset in answer.answer if rrset.rdtype == wanted]
        more = _chain(answer, name)
        chain = (*chain, *more)
        if len(chain) > MAX_CNAMES:
            return ViewAnswer(view, subnet, rdtype, server, scope=scope, cname=chain,
                              error_kind="cname_loop", error=f"{host}: a CNAME chain longer "
                              f"than {MAX_CNAMES} names ({' → '.join(chain[:MAX_CNAMES])} …)")
        if records or not more:
            addresses = tuple(sorted(r.address for rrset in records for r in rrset))
            ttl = min((rrset.ttl for rrset in records), default=None)
            kept = addresses[:defaults.MAX_VIEW_ADDRESSES]  # another party's data: bounded
            return ViewAnswer(view, subnet, rdtype, server, kept, ttl, scope, cname=chain,
                              dropped=len(addresses) - len(kept))
        name, asked = more[-1], servers  # follow the chain's end


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
    return tuple(await asyncio.gather(*(_ask(host, t, s, servers, settings, v.name)
                                        for v in views for s in v.subnets for t in RDTYPES)))
