"""The run result as JSON (docs/run-result.md; schema in docs/run-result.schema.json).

Laid out for both readers: each top-level key on its own line, and each item of a
top-level list (a finding, a node, a region, an object with every node's check) on its own
line, compact. A person scrolls it like a table; a program parses it. It is written by
the json module's C encoder, item by item: ``indent=2`` would use its pure-Python encoder,
which took a fifth of a 4,000-check run's time (docs/performance.md)."""

from __future__ import annotations

import json
from typing import Any

from edgeprobe.result.types import RunResult


def _one(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def dumps(data: dict[str, Any]) -> str:
    """``data`` (a JSON object) in the layout above, with a final newline."""
    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            body = ",\n".join(f"    {_one(item)}" for item in value)
            lines.append(f"  {_one(key)}: [\n{body}\n  ]")
        else:
            lines.append(f"  {_one(key)}: {_one(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n" if lines else "{}\n"


class JsonReporter:
    name = "json"

    def render(self, run: RunResult) -> str:
        from edgeprobe.result.codec import to_json

        return dumps(to_json(run))
