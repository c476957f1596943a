"""The probe file's ``[[views]]``: named client subnets, checked one by one and across views.

A subnet is sent as the EDNS Client Subnet of a query (RFC 7871), so it must be a network
(``198.51.100.0/24``, host bits zero) no longer than /24 for IPv4 or /56 for IPv6 — what
resolvers send and what GeoDNS services map (longer prefixes are truncated by them, so a
finer view would silently mean something else). Views may not overlap: a user belongs to
one view.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from edgeprobe.settings import ViewSettings

if TYPE_CHECKING:
    from edgeprobe.config import _Reader

ECS_MAX_PREFIX = {4: 24, 6: 56}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def check_subnets(reader: _Reader, value: tuple[str, ...], path: tuple[Any, ...]
                  ) -> tuple[str, ...]:
    if not value:
        raise reader.fail(path, "must list at least one subnet (\"198.51.100.0/24\")")
    out = []
    for i, text in enumerate(value):
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise reader.fail(path, f"item {i}: {text!r} is not a network ({exc})") from None
        most = ECS_MAX_PREFIX[net.version]
        if net.prefixlen > most:
            raise reader.fail(path, f"item {i}: {text!r} is longer than /{most}: GeoDNS and "
                              f"resolvers use at most /{most} of an IPv{net.version} client "
                              f"address; use {net.supernet(new_prefix=most)}")
        out.append(str(net))
    return tuple(out)


def views(reader: _Reader, data: dict[str, Any]) -> tuple[ViewSettings, ...]:
    """The ``[[views]]`` tables (none is fine): unique names, no subnet in two views."""
    raw = data.get("views", [])
    if not isinstance(raw, list) or not all(isinstance(v, dict) for v in raw):
        raise reader.fail(("views",), "must be an array of tables [[views]]")
    seen: dict[str, int] = {}
    owner: list[tuple[Network, int, str]] = []
    out = []
    for i, table in enumerate(raw):
        view: ViewSettings = reader.table(ViewSettings, table, ("views", i))
        if view.name in seen:
            raise reader.fail(("views", i, "name"), f"duplicate view name {view.name!r} "
                              f"(first at views[{seen[view.name]}])")
        seen[view.name] = i
        for text in view.subnets:
            net = ipaddress.ip_network(text)
            for other, j, other_text in owner:
                if net.version == other.version and net.overlaps(other):  # type: ignore[arg-type]
                    where = "this view" if j == i else f"view {raw[j].get('name')!r}"
                    raise reader.fail(("views", i, "subnets"),
                                      f"{text} overlaps {other_text} of {where}: a user "
                                      "belongs to one view")
            owner.append((net, i, text))
        out.append(view)
    return tuple(out)
