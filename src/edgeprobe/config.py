"""Probe file (TOML) → validated ``Settings``; each mistake names the file, key and line."""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import ssl
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edgeprobe import defaults
from edgeprobe.errors import ConfigError
from edgeprobe.settings import (
    DnsSettings,
    IncidentSettings,
    NameserverSettings,
    NodeSettings,
    OriginSettings,
    ProbeSettings,
    SampleSettings,
    Settings,
    SiteSettings,
)

KeyPath = tuple[str | int, ...]

# Section → allowed keys. Unknown keys are errors (a typo must never be ignored silently).
SECTIONS: dict[str, tuple[str, ...]] = {
    "site": ("name", "media_url", "ca_file", "verify_tls"),
    "origin": ("bucket", "endpoint_url", "region", "url_prefix", "anonymous", "ca_file"),
    "dns": ("nameservers", "timeout_s"),
    "samples": ("paths", "bucket_prefixes", "per_prefix", "mastodon_api", "max", "seed",
                "list_limit"),
    "probe": ("timeout_s", "concurrency", "per_node_concurrency", "slow_ms", "max_body_bytes",
              "cache_bust"),
    "incident": ("confirm_runs",),
    "nodes": ("name", "region", "host", "addresses", "port"),
}
# The largest value each number may take: past these, a "timeout" is no deadline at all.
MAXIMUM: dict[str, float] = {
    "dns.timeout_s": 60, "samples.per_prefix": 10_000, "samples.max": 100_000,
    "samples.list_limit": 1_000_000, "probe.timeout_s": 600, "probe.concurrency": 10_000,
    "probe.per_node_concurrency": 1_000, "probe.slow_ms": 600_000,
    "probe.max_body_bytes": 16 * 1024**3, "incident.confirm_runs": 1_000,
}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TOML_POS_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def default_path() -> str:
    """`-c` default: $EDGEPROBE_CONFIG, then probes/edgeprobe.toml."""
    return os.environ.get(defaults.CONFIG_ENV) or defaults.CONFIG_PATH


def load(path: str | os.PathLike[str]) -> Settings:
    """Read and validate a probe file."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, None, "no such probe file (pass -c FILE or set "
                          f"${defaults.CONFIG_ENV})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, None, f"cannot read the probe file: {exc}") from None
    return loads(text, name)


def loads(text: str, name: str = "<probe file>") -> Settings:
    """Validate probe-file text; ``name`` is used in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        pos = _TOML_POS_RE.search(msg)
        line = int(pos.group(1)) if pos else None
        detail = _TOML_POS_RE.sub("", msg)
        if pos:
            detail += f" (column {pos.group(2)})"
        raise ConfigError(name, None, f"TOML syntax error: {detail}", line) from None
    return _Validator(text, name).settings(data)


class _Validator:
    """Walks the parsed TOML; knows the text so it can name the line of a key."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.lines = text.splitlines()

    # -- errors -------------------------------------------------------------------------------
    def fail(self, path: KeyPath, message: str) -> ConfigError:
        return ConfigError(self.name, _dotted(path), message, _locate(self.lines, path))

    # -- typed getters -------------------------------------------------------------------------
    def table(self, data: dict[str, Any], key: str, *, required: bool) -> dict[str, Any]:
        if key not in data:
            if required:
                raise self.fail((key,), f"missing required table [{key}]")
            return {}
        value = data[key]
        if not isinstance(value, dict):
            raise self.fail((key,), f"must be a table [{key}], not {_tname(value)}")
        self.no_unknown(value, (key,), SECTIONS[key])
        return value

    def no_unknown(self, table: dict[str, Any], path: KeyPath, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                known = ", ".join(allowed)
                what = "table" if not path else "key"
                raise self.fail((*path, key), f"unknown {what}{hint}; known: {known}")

    def get(self, table: dict[str, Any], path: KeyPath, kind: type | tuple[type, ...],
            default: Any = None, *, required: bool = False) -> Any:
        key = path[-1]
        if key not in table:
            if required:
                raise self.fail(path, "missing required key")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            want = " or ".join(_TYPE_WORDS[k] for k in kinds)
            raise self.fail(path, f"must be {want}, not {_tname(value)} ({value!r})")
        return value

    def positive(self, table: dict[str, Any], path: KeyPath, default: float,
                 kind: type | tuple[type, ...] = (int, float)) -> Any:
        """A number over 0 and at most the key's maximum (MAXIMUM): nan, inf or 1e308 would
        turn a deadline into nothing or into forever."""
        value = self.get(table, path, kind, default)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(path, f"must be a finite number, not {value!r}")
        if value <= 0:
            raise self.fail(path, f"must be greater than 0, not {value!r}")
        most = MAXIMUM[_dotted(tuple(p for p in path if isinstance(p, str)))]
        if value > most:
            raise self.fail(path, f"must be at most {most:g}, not {value!r}")
        return value

    def str_list(self, table: dict[str, Any], path: KeyPath,
                 check: Callable[[str, KeyPath], None] | None = None) -> tuple[str, ...]:
        value = self.get(table, path, list, [])
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.fail(path, f"item {i} must be a non-empty string, not {item!r}")
            if check:
                check(item, path)
        return tuple(value)

    def url(self, value: str, path: KeyPath, schemes: tuple[str, ...] = ("http", "https")) -> str:
        if "@" in value.split("://", 1)[-1].split("/", 1)[0]:
            # never echo it: it may hold a password
            raise self.fail(path, "must not carry a user name or password (credentials come "
                            "from the environment, never the probe file)")
        parts = urlsplit(value)
        try:
            port = parts.port
        except ValueError:
            raise self.fail(path, f"bad port in URL {value!r}") from None
        if port == 0:
            raise self.fail(path, f"port 0 in URL {value!r}: use 1-65535, or no port")
        if parts.scheme not in schemes or not parts.hostname:
            want = " or ".join(f"{s}://" for s in schemes)
            raise self.fail(path, f"must be a URL starting with {want} and a host, not {value!r}")
        return value

    # -- sections ------------------------------------------------------------------------------
    def settings(self, data: dict[str, Any]) -> Settings:
        self.no_unknown(data, (), tuple(SECTIONS))
        site = self.site(self.table(data, "site", required=True))
        origin = self.origin(self.table(data, "origin", required=True))
        return Settings(
            site=site,
            origin=origin,
            nodes=self.nodes(data),
            dns=self.dns(self.table(data, "dns", required=False)),
            samples=self.samples(self.table(data, "samples", required=False), origin),
            probe=self.probe(self.table(data, "probe", required=False)),
            incident=IncidentSettings(
                confirm_runs=self.positive(self.table(data, "incident", required=False),
                                           ("incident", "confirm_runs"),
                                           defaults.CONFIRM_RUNS, int)),
            source=self.name,
        )

    def site(self, t: dict[str, Any]) -> SiteSettings:
        name = self.get(t, ("site", "name"), str, required=True)
        media_url = self.url(self.get(t, ("site", "media_url"), str, required=True),
                             ("site", "media_url"))
        if urlsplit(media_url).path not in ("", "/"):
            raise self.fail(("site", "media_url"),
                            "must be scheme, host and port only; put the path in "
                            "[origin].url_prefix")
        media_url = self.media_host_url(media_url)
        return SiteSettings(name=name, media_url=media_url,
                            ca_file=self.ca_file(t, ("site", "ca_file")),
                            verify_tls=self.get(t, ("site", "verify_tls"), bool,
                                                defaults.VERIFY_TLS))

    def media_host_url(self, url: str) -> str:
        """scheme://host[:port] with the host in its ASCII (IDNA) form, once, here: Host,
        SNI, the certificate check and the pinned resolver all compare this one spelling."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            raise self.fail(("site", "media_url"), f"must name the media host, not an IP "
                            f"address ({host}): edgeprobe sends that name as Host and SNI to "
                            "every node")
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise self.fail(("site", "media_url"), f"{host!r} is not a valid host name") from None
        return f"{parts.scheme}://{ascii_host}" + (f":{parts.port}" if parts.port else "")

    def ca_file(self, t: dict[str, Any], path: KeyPath) -> str | None:
        """An existing PEM file of CA certificates, relative to the probe file or absolute;
        loaded now, so `config check` and every run refuse what TLS would refuse later."""
        ca_file = self.get(t, path, str)
        if ca_file is None:
            return None
        ca_path = Path(ca_file)
        if not ca_path.is_absolute():  # relative to the probe file, like an include
            ca_path = Path(self.name).parent / ca_path
        if not ca_path.is_file():
            raise self.fail(path, f"no such file: {ca_path}")
        try:
            ssl.create_default_context().load_verify_locations(cafile=str(ca_path))
        except (ssl.SSLError, OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise self.fail(path, f"{ca_path} holds no PEM CA certificate ({reason})") from None
        return str(ca_path)

    def origin(self, t: dict[str, Any]) -> OriginSettings:
        endpoint = self.get(t, ("origin", "endpoint_url"), str)
        if endpoint is not None:
            self.url(endpoint, ("origin", "endpoint_url"))
        prefix = self.get(t, ("origin", "url_prefix"), str, defaults.URL_PREFIX)
        if not (prefix.startswith("/") and prefix.endswith("/")):
            raise self.fail(("origin", "url_prefix"),
                            f"must start and end with '/', not {prefix!r}")
        return OriginSettings(
            bucket=self.get(t, ("origin", "bucket"), str, required=True),
            endpoint_url=endpoint,
            region=self.get(t, ("origin", "region"), str),
            url_prefix=prefix,
            anonymous=self.get(t, ("origin", "anonymous"), bool, defaults.ANONYMOUS),
            ca_file=self.ca_file(t, ("origin", "ca_file")),
        )

    def dns(self, t: dict[str, Any]) -> DnsSettings:
        servers = []
        for i, item in enumerate(self.str_list(t, ("dns", "nameservers"))):
            servers.append(self.nameserver(item, ("dns", "nameservers"), i))
        return DnsSettings(nameservers=tuple(servers),
                           timeout_s=self.positive(t, ("dns", "timeout_s"),
                                                   defaults.DNS_TIMEOUT_S))

    def nameserver(self, text: str, path: KeyPath, index: int) -> NameserverSettings:
        host, port = text, 53
        if text.startswith("["):  # [v6]:port
            host, _, rest = text[1:].partition("]")
            if rest:
                port = _port(rest.removeprefix(":"))
        elif text.count(":") == 1:
            host, port_text = text.split(":")
            port = _port(port_text)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            port = -1
        if port < 1:
            raise self.fail(path, f"item {index} must be \"ip\" or \"ip:port\", not {text!r}")
        return NameserverSettings(address=host, port=port)

    def samples(self, t: dict[str, Any], origin: OriginSettings) -> SampleSettings:
        def check_path(item: str, path: KeyPath) -> None:
            if not item.startswith(origin.url_prefix):
                raise self.fail(path, f"{item!r} does not start with [origin].url_prefix "
                                f"{origin.url_prefix!r}")
            if item.endswith("/avatars/original/missing.png"):
                raise self.fail(path, f"{item!r} is Mastodon's placeholder, served by the app, "
                                "not the bucket")

        api = self.get(t, ("samples", "mastodon_api"), str)
        if api is not None:
            self.url(api, ("samples", "mastodon_api"))
        return SampleSettings(
            paths=self.str_list(t, ("samples", "paths"), check_path),
            bucket_prefixes=self.str_list(t, ("samples", "bucket_prefixes")),
            per_prefix=self.positive(t, ("samples", "per_prefix"), defaults.PER_PREFIX, int),
            mastodon_api=api.rstrip("/") if api else None,
            max=self.positive(t, ("samples", "max"), defaults.SAMPLES_MAX, int),
            seed=self.get(t, ("samples", "seed"), int, defaults.SAMPLE_SEED),
            list_limit=self.positive(t, ("samples", "list_limit"), defaults.LIST_LIMIT, int),
        )

    def probe(self, t: dict[str, Any]) -> ProbeSettings:
        p = "probe"
        return ProbeSettings(
            timeout_s=float(self.positive(t, (p, "timeout_s"), defaults.PROBE_TIMEOUT_S)),
            concurrency=self.positive(t, (p, "concurrency"), defaults.CONCURRENCY, int),
            per_node_concurrency=self.positive(t, (p, "per_node_concurrency"),
                                               defaults.PER_NODE_CONCURRENCY, int),
            slow_ms=float(self.positive(t, (p, "slow_ms"), defaults.SLOW_MS)),
            max_body_bytes=self.positive(t, (p, "max_body_bytes"), defaults.MAX_BODY_BYTES, int),
            cache_bust=self.get(t, (p, "cache_bust"), bool, defaults.CACHE_BUST),
        )

    def nodes(self, data: dict[str, Any]) -> tuple[NodeSettings, ...]:
        raw = data.get("nodes")
        if raw is None:
            raise self.fail(("nodes",), "missing: add at least one [[nodes]] table")
        if not isinstance(raw, list) or not all(isinstance(n, dict) for n in raw):
            raise self.fail(("nodes",), "must be an array of tables [[nodes]]")
        if not raw:
            raise self.fail(("nodes",), "must list at least one node")
        seen: dict[str, int] = {}
        nodes = []
        for i, t in enumerate(raw):
            self.no_unknown(t, ("nodes", i), SECTIONS["nodes"])
            name = self.get(t, ("nodes", i, "name"), str, required=True)
            if not _NAME_RE.match(name):
                raise self.fail(("nodes", i, "name"),
                                f"{name!r}: use letters, digits, '.', '_' and '-'")
            if name in seen:
                raise self.fail(("nodes", i, "name"),
                                f"duplicate node name {name!r} (first at nodes[{seen[name]}])")
            seen[name] = i
            host = self.get(t, ("nodes", i, "host"), str)
            if host:
                try:
                    host = host.encode("idna").decode("ascii")
                except UnicodeError:
                    raise self.fail(("nodes", i, "host"),
                                    f"{host!r} is not a valid host name") from None
            addresses = self.str_list(t, ("nodes", i, "addresses"))
            for addr in addresses:
                try:
                    ipaddress.ip_address(addr)
                except ValueError:
                    raise self.fail(("nodes", i, "addresses"),
                                    f"{addr!r} is not an IP address") from None
            if not host and not addresses:
                raise self.fail(("nodes", i), f"node {name!r} needs host or addresses")
            port = self.get(t, ("nodes", i, "port"), int)
            if port is not None and not 0 < port < 65536:
                raise self.fail(("nodes", i, "port"), f"must be 1-65535, not {port}")
            nodes.append(NodeSettings(
                name=name, region=self.get(t, ("nodes", i, "region"), str, required=True),
                host=host, addresses=addresses, port=port))
        return tuple(nodes)


_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "an array", dict: "a table"}


def _tname(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return _TYPE_WORDS.get(type(value), type(value).__name__)


def _port(text: str) -> int:
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else -1


def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def _locate(lines: list[str], path: KeyPath) -> int | None:
    """Best-effort line number (1-based) of a key path such as ("nodes", 1, "port")."""
    if not path:
        return None
    table: KeyPath = ()
    counts: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        header = _HEADER_RE.match(line)
        if header:
            name = header.group(2)
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                table = (name, counts[name])
            else:
                table = tuple(name.split("."))
            if table == path:
                return number
            continue
        key = _KEY_RE.match(line)
        if key and (*table, key.group(1)) == path:
            return number
    if len(path) > 1:  # a missing key: point at its table
        return _locate(lines, path[:-1])
    return None
