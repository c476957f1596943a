"""Probe file (TOML) → validated ``Settings``; each mistake names the file, key and line.

The keys, their types, defaults and rules are the fields of the settings classes
(settings.py); this module walks them. What is left here is what fields cannot say: the
named checks (URLs, CA files, nameservers, node names…), and the few rules across keys
(sample paths start with the url_prefix, a node has a host or addresses, names are unique).
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import math
import os
import re
import ssl
import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edgeprobe.config import defaults
from edgeprobe.config.rules import RULES, split_address, views
from edgeprobe.config.settings import (
    REMOVED,
    SECTIONS,
    Key,
    NameserverSettings,
    NodeSettings,
    Settings,
)
from edgeprobe.config.text import KeyPath, dotted, locate, toml_error, type_word, value_word
from edgeprobe.errors import ConfigError
from edgeprobe.mastodon import PLACEHOLDER

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ORDER = ("site", "origin", "nodes", "dns", "samples", "probe", "canary", "incident",
          "serve", "views")  # check order


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
        detail, line = toml_error(str(exc))
        raise ConfigError(name, None, f"TOML syntax error: {detail}", line) from None
    settings = _Reader(text, name).settings(data)
    return replace(settings, digest=hashlib.sha256(text.encode()).hexdigest())


class _Reader:
    """Walks the parsed TOML along the settings fields; knows the text to name lines."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.lines = text.splitlines()
        self.prefix = defaults.URL_PREFIX  # [origin].url_prefix, once read

    def fail(self, path: KeyPath, message: str) -> ConfigError:
        return ConfigError(self.name, dotted(path), message, locate(self.lines, path))

    def no_unknown(self, table: dict[str, Any], path: KeyPath, allowed: tuple[str, ...]) -> None:
        for name in table:
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                what = "table" if not path else "key"
                raise self.fail((*path, name),
                                f"unknown {what}{hint}; known: {', '.join(allowed)}")

    # -- the walk ------------------------------------------------------------------------------
    def settings(self, data: dict[str, Any]) -> Settings:
        self.no_unknown(data, (), tuple(SECTIONS))
        parts: dict[str, Any] = {}
        for section in _ORDER:
            if section in ("nodes", "views"):
                parts[section] = self.nodes(data) if section == "nodes" else views(self, data)
                continue
            required = section in ("site", "origin")
            if section not in data and required:
                raise self.fail((section,), f"missing required table [{section}]")
            table = data.get(section, {})
            if not isinstance(table, dict):
                raise self.fail((section,),
                                f"must be a table [{section}], not {value_word(table)}")
            parts[section] = self.table(SECTIONS[section], table, (section,))
            if section == "origin":
                self.prefix = parts["origin"].url_prefix
        return Settings(**parts, source=self.name)

    def table(self, cls: type, table: dict[str, Any], path: KeyPath) -> Any:
        """One settings object from one TOML table, field by field."""
        keys = [f for f in fields(cls) if "key" in f.metadata]
        for name in table:
            if (*path, name) in REMOVED:
                raise self.fail((*path, name), REMOVED[(*path, name)])  # type: ignore[index]
        self.no_unknown(table, path, tuple(f.name for f in keys))
        values = {}
        for f in keys:
            spec: Key = f.metadata["key"]
            where = (*path, f.name)
            if f.name not in table:
                if spec.required:
                    raise self.fail(where, "missing required key")
                continue
            value = self.typed(table[f.name], spec, where)
            if spec.check:
                method = getattr(self, spec.check, None)
                value = method(value, where) if method else RULES[spec.check](self, value, where)
            values[f.name] = value
        return cls(**values)

    def typed(self, value: Any, spec: Key, path: KeyPath) -> Any:
        """The value if it has the key's TOML type (an int for a float: converted)."""
        kinds: tuple[type, ...] = (int, float) if spec.kind is float else (spec.kind,)
        if not _is(value, kinds):
            want = " or ".join(type_word(k) for k in kinds)
            raise self.fail(path, f"must be {want}, not {value_word(value)} ({value!r})")
        if spec.kind is list:
            for i, item in enumerate(value):
                if not isinstance(item, str) or not item:
                    raise self.fail(path, f"item {i} must be a non-empty string, not {item!r}")
            return tuple(value)
        if spec.positive:  # nan, inf or 1e308 would make a deadline nothing or forever
            number: float = value
            if not math.isfinite(number):
                raise self.fail(path, f"must be a finite number, not {value!r}")
            if number <= 0:
                raise self.fail(path, f"must be greater than 0, not {value!r}")
            if spec.most is not None and number > spec.most:
                raise self.fail(path, f"must be at most {spec.most:g}, not {value!r}")
            if spec.least is not None and number < spec.least:
                raise self.fail(path, f"must be at least {spec.least:g}, not {value!r}")
        if spec.choices is not None and value not in spec.choices:
            raise self.fail(path, f"must be one of {', '.join(map(repr, spec.choices))}, "
                            f"not {value!r}")
        return float(value) if spec.kind is float else value

    # -- named checks (Key.check) --------------------------------------------------------------
    def url(self, value: str, path: KeyPath) -> str:
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
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.fail(path, "must be a URL starting with http:// or https:// and a host, "
                            f"not {value!r}")
        return value

    def api_url(self, value: str, path: KeyPath) -> str:
        return self.url(value, path).rstrip("/")

    def media_url(self, value: str, path: KeyPath) -> str:
        """scheme://host[:port] with the host in its ASCII (IDNA) form, once, here: Host,
        SNI, the certificate check and the pinned resolver all compare this one spelling."""
        parts = urlsplit(self.url(value, path))
        if parts.path not in ("", "/"):
            raise self.fail(path, "must be scheme, host and port only; put the path in "
                            "[origin].url_prefix")
        host = parts.hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            raise self.fail(path, f"must name the media host, not an IP address ({host}): "
                            "edgeprobe sends that name as Host and SNI to every node")
        return f"{parts.scheme}://{self.host(host, path)}" + (
            f":{parts.port}" if parts.port else "")

    def host(self, value: str, path: KeyPath) -> str:
        try:
            return value.encode("idna").decode("ascii")
        except UnicodeError:
            raise self.fail(path, f"{value!r} is not a valid host name") from None

    def ca_file(self, value: str, path: KeyPath) -> str:
        """An existing PEM file of CA certificates, relative to the probe file or absolute;
        loaded now, so `config check` and every run refuse what TLS would refuse later."""
        ca_path = Path(value)
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

    def url_prefix(self, value: str, path: KeyPath) -> str:
        if not (value.startswith("/") and value.endswith("/")):
            raise self.fail(path, f"must start and end with '/', not {value!r}")
        return value

    def nameservers(self, value: tuple[str, ...], path: KeyPath) -> tuple[NameserverSettings, ...]:
        return tuple(self.nameserver(text, path, i) for i, text in enumerate(value))

    def nameserver(self, text: str, path: KeyPath, index: int) -> NameserverSettings:
        found = split_address(text, 53)
        if found is None:
            raise self.fail(path, f"item {index} must be \"ip\" or \"ip:port\", not {text!r}")
        return NameserverSettings(address=found[0], port=found[1])

    def sample_paths(self, value: tuple[str, ...], path: KeyPath) -> tuple[str, ...]:
        for item in value:
            if not item.startswith(self.prefix):
                raise self.fail(path, f"{item!r} does not start with [origin].url_prefix "
                                f"{self.prefix!r}")
            if item.endswith(PLACEHOLDER):
                raise self.fail(path, f"{item!r} is Mastodon's placeholder, served by the app, "
                                "not the bucket")
        return value

    def node_name(self, value: str, path: KeyPath) -> str:
        if not _NAME_RE.match(value):
            raise self.fail(path, f"{value!r}: use letters, digits, '.', '_' and '-'")
        return value

    def addresses(self, value: tuple[str, ...], path: KeyPath) -> tuple[str, ...]:
        for addr in value:
            try:
                ipaddress.ip_address(addr)
            except ValueError:
                raise self.fail(path, f"{addr!r} is not an IP address") from None
        return value

    def port(self, value: int, path: KeyPath) -> int:
        if not 0 < value < 65536:
            raise self.fail(path, f"must be 1-65535, not {value}")
        return value

    # -- [[nodes]]: an array of tables, with rules across them ---------------------------------
    def nodes(self, data: dict[str, Any]) -> tuple[NodeSettings, ...]:
        nodes: list[NodeSettings] = self.named_tables(data, "nodes", NodeSettings,
                                                      required=True)
        for i, node in enumerate(nodes):
            if not node.host and not node.addresses:
                raise self.fail(("nodes", i), f"node {node.name!r} needs host or addresses")
        return tuple(nodes)

    def named_tables(self, data: dict[str, Any], section: str, cls: type,
                     required: bool) -> list[Any]:
        """An array of tables whose items have unique names ([[nodes]], [[views]])."""
        word = section.removesuffix("s")
        raw = data.get(section)
        if raw is None and required:
            raise self.fail((section,), f"missing: add at least one [[{section}]] table")
        raw = [] if raw is None else raw
        if not isinstance(raw, list) or not all(isinstance(n, dict) for n in raw):
            raise self.fail((section,), f"must be an array of tables [[{section}]]")
        if not raw and required:
            raise self.fail((section,), f"must list at least one {word}")
        seen: dict[str, int] = {}
        out = []
        for i, table in enumerate(raw):
            item = self.table(cls, table, (section, i))
            if item.name in seen:
                raise self.fail((section, i, "name"), f"duplicate {word} name {item.name!r} "
                                f"(first at {section}[{seen[item.name]}])")
            seen[item.name] = i
            out.append(item)
        return out


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    """isinstance, but a TOML boolean is not an integer."""
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
