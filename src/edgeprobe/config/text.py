"""The probe file as text: key paths, the line a key is on, and words for TOML types.

What makes a config error point at ``probes/site.toml:10: probe.concurrency`` instead of
saying only what is wrong.
"""

from __future__ import annotations

import re
from typing import Any

KeyPath = tuple[str | int, ...]

_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "an array", dict: "a table"}
_TOML_POS_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def type_word(kind: type) -> str:
    return _TYPE_WORDS[kind]


def value_word(value: Any) -> str:
    """What a TOML value is, in words ('a string', 'a boolean', …)."""
    if isinstance(value, bool):
        return "a boolean"
    return _TYPE_WORDS.get(type(value), type(value).__name__)


def dotted(path: KeyPath) -> str:
    """("nodes", 1, "port") → 'nodes[1].port'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def toml_error(message: str) -> tuple[str, int | None]:
    """tomllib's message → (the message with '(column N)' instead of its position, line)."""
    pos = _TOML_POS_RE.search(message)
    detail = _TOML_POS_RE.sub("", message)
    if pos:
        return f"{detail} (column {pos.group(2)})", int(pos.group(1))
    return detail, None


def locate(lines: list[str], path: KeyPath) -> int | None:
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
        return locate(lines, path[:-1])
    return None
