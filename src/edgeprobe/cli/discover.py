"""`edgeprobe config discover`: the [[nodes]] and [[views]] tables of a new probe file, from
what GeoDNS hands each view (the same ECS questions a probe asks, observe/geodns.py), each address
named by its reverse DNS where it has one."""

from __future__ import annotations

import asyncio
import re

import dns.asyncresolver
import dns.exception
import dns.reversename

from edgeprobe.config import checks
from edgeprobe.config.settings import DnsSettings, NameserverSettings, ViewSettings
from edgeprobe.errors import ConfigError, ProbeError
from edgeprobe.observe.geodns import ask_views
from edgeprobe.observe.observations import ViewAnswer
from edgeprobe.observe.resolve import make_resolver
from edgeprobe.observe.targets import routable

_LABEL = re.compile(r"[^A-Za-z0-9._-]+")


def parse_view(text: str) -> ViewSettings:
    """``NAME=CIDR[,CIDR…]``, by the probe file's rules (config/checks.py)."""
    name, sep, subnets = text.partition("=")
    if not sep or not checks.NAME.match(name):
        raise ConfigError("--view", None, f"{text!r}: use NAME=CIDR[,CIDR…], e.g. "
                          "us-west=198.51.100.0/24")
    try:
        return ViewSettings(name=name, subnets=checks.subnets(
            tuple(item.strip() for item in subnets.split(","))))
    except ValueError as exc:
        raise ConfigError("--view", None, str(exc)) from None


def parse_server(text: str, option: str) -> NameserverSettings:
    """``ip``, ``ip:port`` or ``[v6]:port`` (the probe file's form)."""
    found = checks.split_address(text, 53)
    if found is None:
        raise ConfigError(option, None, f"{text!r}: use \"ip\" or \"ip:port\"")
    return NameserverSettings(*found)


async def _ptr(resolver: dns.asyncresolver.Resolver, address: str) -> str | None:
    try:
        answer = await resolver.resolve(dns.reversename.from_address(address), "PTR")
    except dns.exception.DNSException:
        return None
    return str(answer[0].target).rstrip(".") or None


def node_name(address: str, ptr: str | None, taken: set[str]) -> str:
    """The PTR name's first label, else edge-<address>; made unique and valid."""
    base = (ptr.split(".")[0] if ptr else "") or f"edge-{address}"
    base = _LABEL.sub("-", base).strip("-.") or "edge"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


Found = tuple[list[ViewAnswer], dict[str, str | None]]


async def _discover(dns_settings: DnsSettings, host: str,
                    views: tuple[ViewSettings, ...]) -> Found:
    answers = list(await ask_views(dns_settings, host, views))
    addresses = list(dict.fromkeys(a for x in answers for a in x.addresses))
    try:
        resolver = make_resolver(dns_settings)
        ptrs = await asyncio.gather(*(_ptr(resolver, a) for a in addresses))
    except Exception:  # no resolver here: the names fall back to the addresses
        ptrs = [None] * len(addresses)
    return answers, dict(zip(addresses, ptrs, strict=True))


def _grouped(first_view: dict[str, str], ptrs: dict[str, str | None]
             ) -> list[tuple[str | None, list[str], str]]:
    """(PTR name, addresses, region) per edge: the addresses with the same reverse DNS name
    are one edge (its A and AAAA), the others one node each."""
    groups: dict[str, tuple[str | None, list[str], str]] = {}
    for addr, view in first_view.items():
        ptr = ptrs.get(addr)
        key = ptr.lower() if ptr else addr
        groups.setdefault(key, (ptr, [], view))[1].append(addr)
    return list(groups.values())


SAMPLES = """[samples]
# the bucket's newest media and a spread of the rest ([origin] must name the bucket);
# or through the instance's public API instead: mastodon_api = "https://your.instance"
bucket_prefixes = ["media_attachments/", "accounts/"]"""


def api_samples(instance: str, host: str, timeout_s: float) -> list[str]:
    """[samples] through the instance's public API, and the media path prefix its media
    URLs show ([origin] url_prefix: "/system/" by default, "/" on S3_ALIAS_HOST sites)."""
    from collections import Counter

    from edgeprobe.observe.sample import discover_api, prefix_of

    paths, notes = asyncio.run(discover_api(instance, host, "/", timeout_s))
    if not paths:
        why = "; ".join(n.summary for n in notes) or "no media URL on " + host
        return [f"# {instance}'s public API named no media on {host} ({why})", SAMPLES]
    prefix = Counter(p for p in map(prefix_of, paths) if p).most_common(1)
    lines = ["[samples]", f'mastodon_api = "{instance}"']
    if prefix:
        lines.insert(0, f'# detected from {len(paths)} media URLs of its API: add to [origin] '
                        f'url_prefix = "{prefix[0][0]}"' + (" (the default)" if prefix[0][0]
                                                             == "/system/" else ""))
    return lines


def discover(dns_settings: DnsSettings, host: str, views: tuple[ViewSettings, ...],
             instance: str | None = None) -> str:
    """TOML to paste into a probe file: [dns] authoritative (if given), [[nodes]] for every
    edge a view gets (its addresses grouped by reverse DNS; region: the first view that gets
    it), [[views]], and [samples]; the answers that failed as comments. No address at all
    is a ProbeError naming the flags that would help."""
    answers, ptrs = asyncio.run(_discover(dns_settings, host, views))
    if not any(a.addresses for a in answers):
        errors = sorted({str(a.error) for a in answers if a.error}) or ["no A or AAAA record"]
        raise ProbeError(f"no view got an address for {host}: {'; '.join(errors)}"
                         .replace("; set [dns] authoritative", "") +
                         " — pass --authoritative IP[:PORT] (the zone's authoritative server), "
                         "or --nameserver IP[:PORT] (a resolver that finds its NS records)")
    out = [f"# edgeprobe config discover {host}: what its authoritative servers hand each view",
           "# (EDNS Client Subnet); add [site] and [origin] to make a probe file.", ""]
    if dns_settings.authoritative:
        quoted = ", ".join(f'"{s}"' for s in dns_settings.authoritative)
        out += ["[dns]", f"authoritative = [{quoted}]"]
    for a in answers:
        if a.error_kind:
            out.append(f"# {a.view} {a.subnet} {a.rdtype}: {a.error}")
    scopes = [a.scope for a in answers if a.addresses]
    if scopes and not any(scopes):
        out.append("# every answer had ECS scope 0: these servers do not answer by client subnet")
    first_view: dict[str, str] = {}
    for a in answers:
        for addr in a.addresses:
            first_view.setdefault(addr, a.view)
    taken: set[str] = set()
    for ptr, addresses, view in _grouped(first_view, ptrs):
        for addr in addresses:
            if not routable(addr):
                out += ["", f"# {addr} is NOT globally routable (loopback, private, link-local "
                        "or reserved): users cannot reach it. Listed here, it will be probed; "
                        "check that it is yours before you keep it"]
        quoted = ", ".join(f'"{a}"' for a in addresses)
        why = (f"  # {ptr}" + (": grouped by reverse DNS" if len(addresses) > 1 else "")
               if ptr else "")
        out += ["", "[[nodes]]", f'name = "{node_name(addresses[0], ptr, taken)}"',
                f'region = "{view}"', f"addresses = [{quoted}]{why}"]
    for v in views:
        quoted = ", ".join(f'"{s}"' for s in v.subnets)
        out += ["", "[[views]]", f'name = "{v.name}"', f"subnets = [{quoted}]"]
    out += ["", *(api_samples(instance, host, dns_settings.timeout_s * 5) if instance
                  else [SAMPLES])]
    return "\n".join(out) + "\n"
