"""The fleet as the fetch sees it: which (node, addresses, port) targets a run probes.

A node with several addresses becomes one target per address (``per_address``), and every
address GeoDNS hands a view that no node lists becomes an ad-hoc node (``with_unlisted``).
Pure: it works on what resolve and geodns observed."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import replace

from edgeprobe.config import defaults
from edgeprobe.config.settings import NodeSettings, Settings
from edgeprobe.observe.observations import Resolution, Target, ViewAnswer

Skipped = tuple[tuple[str, str], ...]  # (address, why it was not probed)


def per_address(settings: Settings,
                resolutions: Sequence[Resolution]) -> tuple[Settings, list[Resolution]]:
    """A node with several addresses (A and AAAA, or several of each) is probed on every
    one: it becomes one node per address, named NAME@ADDRESS (a probe file's names cannot
    hold '@') in the same region, so a broken AAAA cannot hide behind a working A."""
    by_name = {r.node: r for r in resolutions}
    nodes, out = [], []
    for node in settings.nodes:
        res = by_name[node.name]
        if len(res.addresses) < 2:
            nodes.append(node)
            out.append(res)
            continue
        for addr in res.addresses:
            name = f"{node.name}@{addr}"
            nodes.append(replace(node, name=name, addresses=(addr,)))
            out.append(replace(res, node=name, addresses=(addr,)))
    return replace(settings, nodes=tuple(nodes)), out


def routable(address: str) -> bool:
    """Globally routable: not loopback, private (RFC 1918, ULA), link-local (the cloud
    metadata address among them), multicast, unspecified or reserved."""
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def with_unlisted(settings: Settings, resolutions: Sequence[Resolution],
                  answers: Sequence[ViewAnswer]
                  ) -> tuple[Settings, list[Resolution], tuple[str, ...], Skipped]:
    """Every address DNS hands a view that no node has becomes an ad-hoc node, named by
    its address, in the view's region: probed in the same run, so the report says whether
    the edge nobody listed is healthy (dns_unlisted_address).

    A DNS answer is another party's data, and edgeprobe runs inside admins' networks with
    credentials in its environment: an address that is not globally routable is probed
    only when ``[dns] probe_unlisted = "all"``, never with ``"none"``, and at most
    MAX_UNLISTED addresses become nodes in one run. What is not probed is returned with
    why (``internal``, ``not_probed``, ``capped``), for the analysis to name."""
    policy = settings.dns.probe_unlisted
    known = {a for r in resolutions for a in r.addresses}
    first_view: dict[str, str] = {}
    for a in answers:
        for addr in a.addresses:
            first_view.setdefault(addr, a.view)
    chosen: list[str] = []
    skipped: list[tuple[str, str]] = []
    for addr in (a for a in first_view if a not in known):
        if policy == "none" or (policy == "public" and not routable(addr)):
            skipped.append((addr, "not_probed" if routable(addr) else "internal"))
        elif len(chosen) >= defaults.MAX_UNLISTED:
            skipped.append((addr, "capped"))
        else:
            chosen.append(addr)
    unlisted = tuple(chosen)
    if not unlisted:
        return settings, list(resolutions), (), tuple(skipped)
    nodes = tuple(NodeSettings(name=a, region=first_view[a], addresses=(a,)) for a in unlisted)
    return (replace(settings, nodes=(*settings.nodes, *nodes)),
            [*resolutions, *(Resolution(a, None, (a,), pinned=True) for a in unlisted)],
            unlisted, tuple(skipped))


def node_targets(settings: Settings, resolutions: Sequence[Resolution]) -> list[Target]:
    """Each node that has an address, with the port it listens on."""
    nodes = {n.name: n for n in settings.nodes}
    return [Target(r.node, r.addresses, settings.node_port(nodes[r.node]))
            for r in resolutions if r.addresses]
