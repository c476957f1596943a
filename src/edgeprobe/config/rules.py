"""The rules of keys whose meaning a type cannot hold (config/reader.py walks the settings
and calls these by their ``check`` name): ``[[views]]`` — named client subnets, checked one
by one and across views — ``[serve] listen`` and the ``[canary]`` keys.

A subnet is sent as the EDNS Client Subnet of a query (RFC 7871), so it must be a network
(``198.51.100.0/24``, host bits zero) no longer than /24 for IPv4 or /56 for IPv6 — what
resolvers send and what GeoDNS services map (longer prefixes are truncated by them, so a
finer view would silently mean something else). Views may not overlap: a user belongs to
one view.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any, Protocol

from edgeprobe.config.settings import ViewSettings

if TYPE_CHECKING:
    from edgeprobe.errors import ConfigError


class _Reader(Protocol):
    """What these rules need of config/reader.py's reader (a protocol: no import back)."""

    def fail(self, path: tuple[Any, ...], message: str) -> ConfigError: ...

    def named_tables(self, data: dict[str, Any], section: str, cls: type,
                     required: bool) -> list[Any]: ...

ECS_MAX_PREFIX = {4: 24, 6: 56}
_CANARY_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")

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
    found: list[ViewSettings] = reader.named_tables(data, "views", ViewSettings,
                                                    required=False)
    owner: list[tuple[Network, int, str]] = []
    for i, view in enumerate(found):
        for text in view.subnets:
            net = ipaddress.ip_network(text)
            for other, j, other_text in owner:
                if net.version == other.version and net.overlaps(other):  # type: ignore[arg-type,unused-ignore]
                    where = "this view" if j == i else f"view {found[j].name!r}"
                    raise reader.fail(("views", i, "subnets"),
                                      f"{text} overlaps {other_text} of {where}: a user "
                                      "belongs to one view")
            owner.append((net, i, text))
    return tuple(found)


def split_address(text: str, default_port: int | None) -> tuple[str, int] | None:
    """``ip``, ``ip:port`` or ``[v6]:port`` → (ip, port), or None when it is not one. The
    one parser of the probe file's nameservers, ``[serve] listen`` and the CLI's servers;
    ``default_port`` None: the port is required."""
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or None
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    number = default_port if port is None else int(port) if port.isdigit() else 0
    return (host, number) if number is not None and 0 < number < 65536 else None


def parse_listen(text: str) -> tuple[str, int]:
    """``ip:port`` or ``[v6]:port`` (an IP address: serve binds it) → (ip, port)."""
    found = split_address(text, None)
    if found is None:
        raise ValueError(f"{text!r}: use \"ip:port\" (\"127.0.0.1:9330\", \"[::1]:9330\")")
    return found


def check_listen(reader: _Reader, value: str, path: tuple[Any, ...]) -> str:
    try:
        parse_listen(value)
    except ValueError as exc:
        raise reader.fail(path, str(exc)) from None
    return value


def check_canary_requests(reader: _Reader, value: int, path: tuple[Any, ...]) -> int:
    if not 0 <= value <= 10:
        raise reader.fail(path, f"must be 0 (off) to 10, not {value}")
    return value


def check_canary_prefix(reader: _Reader, value: str, path: tuple[Any, ...]) -> str:
    if not _CANARY_PREFIX.match(value) or ".." in value:
        raise reader.fail(path, f"{value!r}: a key prefix of letters, digits, '.', '_', '-' "
                          "and '/', not starting with '/'")
    return value


RULES: dict[str, Any] = {"subnets": check_subnets, "listen": check_listen,
                         "canary_requests": check_canary_requests,
                         "canary_prefix": check_canary_prefix}
