"""Probe file (TOML) → validated ``Settings``; each mistake names the file, key and line.

The keys, their types, defaults and checks are the fields of the settings classes
(settings.py, checks.py); this module walks them, runs each check and the rules across keys
(rules.py), and alone turns their ``ValueError`` into a ConfigError naming the file, the key
and the line. What it knows itself: TOML types and bounds, tables and arrays of tables with
unique names, and that a relative path is the probe file's.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import os
import tomllib
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from edgeprobe.config import defaults, rules
from edgeprobe.config.settings import REMOVED, SECTIONS, Key, NodeSettings, Settings, ViewSettings
from edgeprobe.config.text import KeyPath, dotted, locate, toml_error, type_word, value_word
from edgeprobe.errors import ConfigError

_ARRAYS = ("nodes", "views")  # arrays of tables; the other sections are tables


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
        for section in SECTIONS:
            if section in _ARRAYS:
                parts[section] = self.nodes(data) if section == "nodes" else self.views(data)
                continue
            required = section in ("site", "origin")
            if section not in data and required:
                raise self.fail((section,), f"missing required table [{section}]")
            table = data.get(section, {})
            if not isinstance(table, dict):
                raise self.fail((section,),
                                f"must be a table [{section}], not {value_word(table)}")
            parts[section] = self.table(SECTIONS[section], table, (section,))
            if section == "samples":
                self.rule(rules.samples_in_bucket, parts["samples"].paths,
                          parts["origin"].url_prefix)
        return Settings(**parts, source=self.name)

    def rule(self, rule: Callable[..., None], *args: Any) -> None:
        """A rule across keys (config/rules.py), its Misplaced named like any mistake."""
        try:
            rule(*args)
        except rules.Misplaced as exc:
            raise self.fail(exc.path, str(exc)) from None

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
            if spec.relative and not Path(value).is_absolute():  # like an include
                value = str(Path(self.name).parent / value)
            if spec.check:
                try:
                    value = spec.check(value)
                except ValueError as exc:
                    raise self.fail(where, str(exc)) from None
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

    # -- [[nodes]] and [[views]]: arrays of tables, with rules across them ---------------------
    def nodes(self, data: dict[str, Any]) -> tuple[NodeSettings, ...]:
        nodes: list[NodeSettings] = self.named_tables(data, "nodes", NodeSettings,
                                                      required=True)
        self.rule(rules.nodes_reachable, nodes)
        return tuple(nodes)

    def views(self, data: dict[str, Any]) -> tuple[ViewSettings, ...]:
        """The ``[[views]]`` tables (none is fine): unique names, no subnet in two views."""
        views: list[ViewSettings] = self.named_tables(data, "views", ViewSettings,
                                                      required=False)
        self.rule(rules.views_apart, views)
        return tuple(views)

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
