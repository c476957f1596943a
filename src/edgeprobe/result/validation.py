"""Checking a JSON document against a JSON Schema, answered as 'where and why'."""

from __future__ import annotations

from typing import Any


def violation(schema: dict[str, Any], document: Any) -> tuple[str, str] | None:
    """(JSON path such as ``$.nodes[0].latency_ms``, why) of the most relevant violation
    (jsonschema's best match), or None when the document is valid."""
    import jsonschema  # only a loaded file pays for it

    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(document))
    if error is None:
        return None
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    why = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    return where, why
