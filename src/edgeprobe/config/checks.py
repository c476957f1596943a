"""The rules of probe-file values that a type cannot hold, as plain callables.

Each check takes a value and returns it (possibly converted: a host to its ASCII form, a
list of servers to ``(address, port)`` pairs) or raises ``ValueError(message)``; the settings
fields name their check (``key(check=...)``) and ``config/reader.py`` alone adds the file, the
key and the line. The command line reuses the same callables for its options (``--view``,
``--nameserver``), so a value means the same thing wherever it is written.

A subnet is sent as the EDNS Client Subnet of a query (RFC 7871), so it must be a network
(``198.51.100.0/24``, host bits zero) no longer than /24 for IPv4 or /56 for IPv6 — what
resolvers send and what GeoDNS services map (longer prefixes are truncated by them, so a
finer view would silently mean something else).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # node, region-free view and vantage names
ECS_MAX_PREFIX = {4: 24, 6: 56}
_CANARY_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")


def url(value: str) -> str:
    if "@" in value.split("://", 1)[-1].split("/", 1)[0]:
        # never echo it: it may hold a password
        raise ValueError("must not carry a user name or password (credentials come from the "
                         "environment, never the probe file)")
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in URL {value!r}") from None
    if port == 0:
        raise ValueError(f"port 0 in URL {value!r}: use 1-65535, or no port")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be a URL starting with http:// or https:// and a host, "
                         f"not {value!r}")
    return value


def api_url(value: str) -> str:
    return url(value).rstrip("/")


def host(value: str) -> str:
    """A host name in its ASCII (IDNA) form."""
    try:
        return value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{value!r} is not a valid host name") from None


def media_url(value: str) -> str:
    """scheme://host[:port] with the host in its ASCII (IDNA) form, once, here: Host, SNI,
    the certificate check and the pinned resolver all compare this one spelling."""
    parts = urlsplit(url(value))
    if parts.path not in ("", "/"):
        raise ValueError("must be scheme, host and port only; put the path in "
                         "[origin].url_prefix")
    name = parts.hostname or ""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        raise ValueError(f"must name the media host, not an IP address ({name}): edgeprobe "
                         "sends that name as Host and SNI to every node")
    return f"{parts.scheme}://{host(name)}" + (f":{parts.port}" if parts.port else "")


def web_origin(value: str) -> str:
    """The Mastodon web UI's URL as an Origin (scheme://host[:port], the host in ASCII): what
    a browser sends when the web UI loads media from the media host."""
    parts = urlsplit(url(value))
    return f"{parts.scheme}://{host(parts.hostname or '')}" + (
        f":{parts.port}" if parts.port else "")


def pem_file(value: str) -> str:
    """An existing PEM file of CA certificates (the reader has made a relative path the
    probe file's); loaded now, so `config check` and every run refuse what TLS would refuse
    later."""
    import ssl  # here: a fetch worker imports the settings types, never this check or ssl

    if not Path(value).is_file():
        raise ValueError(f"no such file: {value}")
    try:
        ssl.create_default_context().load_verify_locations(cafile=value)
    except (ssl.SSLError, OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise ValueError(f"{value} holds no PEM CA certificate ({reason})") from None
    return value


def url_prefix(value: str) -> str:
    if not (value.startswith("/") and value.endswith("/")):
        raise ValueError(f"must start and end with '/', not {value!r}")
    return value


def name(value: str) -> str:
    if not NAME.match(value):
        raise ValueError(f"{value!r}: use letters, digits, '.', '_' and '-'")
    return value


def addresses(value: tuple[str, ...]) -> tuple[str, ...]:
    for addr in value:
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            raise ValueError(f"{addr!r} is not an IP address") from None
    return value


def port(value: int) -> int:
    if not 0 < value < 65536:
        raise ValueError(f"must be 1-65535, not {value}")
    return value


def split_address(text: str, default_port: int | None) -> tuple[str, int] | None:
    """``ip``, ``ip:port`` or ``[v6]:port`` → (ip, port), or None when it is not one. The
    one parser of the probe file's nameservers, ``[serve] listen`` and the CLI's servers;
    ``default_port`` None: the port is required."""
    address, number_text = text, None
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        number_text = rest.removeprefix(":") or None
    elif text.count(":") == 1:
        address, number_text = text.split(":")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    number = (default_port if number_text is None
              else int(number_text) if number_text.isdigit() else 0)
    return (address, number) if number is not None and 0 < number < 65536 else None


def servers(value: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """DNS servers, ``ip`` or ``ip:port`` (53 by default)."""
    out = []
    for i, text in enumerate(value):
        found = split_address(text, 53)
        if found is None:
            raise ValueError(f"item {i} must be \"ip\" or \"ip:port\", not {text!r}")
        out.append(found)
    return tuple(out)


def parse_listen(text: str) -> tuple[str, int]:
    """``ip:port`` or ``[v6]:port`` (an IP address: serve binds it) → (ip, port)."""
    found = split_address(text, None)
    if found is None:
        raise ValueError(f"{text!r}: use \"ip:port\" (\"127.0.0.1:9330\", \"[::1]:9330\")")
    return found


def listen(value: str) -> str:
    parse_listen(value)
    return value


def subnets(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("must list at least one subnet (\"198.51.100.0/24\")")
    out = []
    for i, text in enumerate(value):
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise ValueError(f"item {i}: {text!r} is not a network ({exc})") from None
        most = ECS_MAX_PREFIX[net.version]
        if net.prefixlen > most:
            raise ValueError(f"item {i}: {text!r} is longer than /{most}: GeoDNS and "
                             f"resolvers use at most /{most} of an IPv{net.version} client "
                             f"address; use {net.supernet(new_prefix=most)}")
        out.append(str(net))
    return tuple(out)


def retests(value: int) -> int:
    if not 0 <= value <= 2:
        raise ValueError(f"must be 0 (never), 1 or 2, not {value}")
    return value


def processes(value: int) -> int:
    if not 0 <= value <= 16:
        raise ValueError(f"must be 0 (a thread of the probing process) to 16, not {value}")
    return value


def canary_requests(value: int) -> int:
    if not 0 <= value <= 10:
        raise ValueError(f"must be 0 (off) to 10, not {value}")
    return value


def canary_prefix(value: str) -> str:
    if not _CANARY_PREFIX.match(value) or ".." in value:
        raise ValueError(f"{value!r}: a key prefix of letters, digits, '.', '_', '-' and '/', "
                         "not starting with '/'")
    return value
