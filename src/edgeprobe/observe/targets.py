"""The fleet as the fetch sees it: which (node, addresses, port) targets a run probes.

A node with several addresses becomes one target per address (``per_address``), and every
address GeoDNS hands a view that no node lists becomes an ad-hoc node (``with_unlisted``).
Pure: it works on what resolve and geodns observed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from edgeprobe.config.settings import NodeSettings, Settings
from edgeprobe.observe.observations import Resolution, Target, ViewAnswer


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


def with_unlisted(settings: Settings, resolutions: Sequence[Resolution],
                  answers: Sequence[ViewAnswer]
                  ) -> tuple[Settings, list[Resolution], tuple[str, ...]]:
    """Every address DNS hands a view that no node has becomes an ad-hoc node, named by
    its address, in the view's region: probed in the same run, so the report says whether
    the edge nobody listed is healthy (dns_unlisted_address)."""
    known = {a for r in resolutions for a in r.addresses}
    first_view: dict[str, str] = {}
    for a in answers:
        for addr in a.addresses:
            first_view.setdefault(addr, a.view)
    unlisted = tuple(a for a in first_view if a not in known)
    if not unlisted:
        return settings, list(resolutions), ()
    nodes = tuple(NodeSettings(name=a, region=first_view[a], addresses=(a,)) for a in unlisted)
    return (replace(settings, nodes=(*settings.nodes, *nodes)),
            [*resolutions, *(Resolution(a, None, (a,), pinned=True) for a in unlisted)],
            unlisted)


def node_targets(settings: Settings, resolutions: Sequence[Resolution]) -> list[Target]:
    """Each node that has an address, with the port it listens on."""
    nodes = {n.name: n for n in settings.nodes}
    return [Target(r.node, r.addresses, settings.node_port(nodes[r.node]))
            for r in resolutions if r.addresses]
