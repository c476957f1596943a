"""Checking a JSON document against a JSON Schema, answered as 'where and why'.

Documents checked here come from other machines and other times (run files, state files):
``format: date-time`` is enforced (a ``2026-13-45`` date that passes a pattern would crash
whoever reads it later), and nesting is bounded before anything recursive touches it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

MAX_DEPTH = 64  # deeper than any document edgeprobe writes (evidence included)


def parse_time(text: str) -> datetime:
    """An RFC 3339 date-time (``Z`` or an offset) as an aware datetime; ValueError if not."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return when


def _date_time(value: Any) -> bool:
    return not isinstance(value, str) or parse_time(value) is not None  # types: the schema's


def too_deep(document: Any, limit: int = MAX_DEPTH) -> str | None:
    """The JSON path where ``document`` nests deeper than ``limit``, or None. Iterative:
    a hostile document cannot exhaust the stack here."""
    stack: list[tuple[Any, str, int]] = [(document, "$", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > limit:
            return where
        if isinstance(value, dict):
            stack.extend((v, f"{where}.{k}", depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
    return None


def violation(schema: dict[str, Any], document: Any) -> tuple[str, str] | None:
    """(JSON path such as ``$.nodes[0].latency_ms``, why) of the most relevant violation
    (jsonschema's best match), or None when the document is valid."""
    import jsonschema  # only a loaded file pays for it

    deep = too_deep(document)
    if deep is not None:
        return deep, f"nested deeper than {MAX_DEPTH} levels"
    formats = jsonschema.FormatChecker(formats=())
    formats.checks("date-time", raises=ValueError)(_date_time)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema, format_checker=formats).iter_errors(document))
    if error is None:
        return None
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    why = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    return where, why
