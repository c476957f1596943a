"""The run result as JSON (docs/run-result.md; schema in docs/run-result.schema.json).

Laid out for both readers: each top-level key on its own line, and each item of a
top-level list (a finding, a node, a region, an object with every node's check) on its own
line, compact. A person scrolls it like a table; a program parses it. It is written by
the json module's C encoder, item by item: ``indent=2`` would use its pure-Python encoder,
which took a fifth of a 4,000-check run's time (docs/performance.md). Item by item it is
also written (``chunks``): the file never waits for the whole text, which at 4,000 checks
is a 3 MB string (twice that in memory once a message holds a non-Latin-1 character) and
its UTF-8 copy at the end of the run, where the probing process peaks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from edgeprobe.report import Reporter
from edgeprobe.result.types import RunResult


def _one(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def chunks(data: dict[str, Any]) -> Iterator[str]:
    """``data`` (a JSON object) in the layout above, with a final newline, a line at a time."""
    if not data:
        yield "{}\n"
        return
    yield "{\n"
    for n, (key, value) in enumerate(data.items()):
        yield "" if n == 0 else ",\n"
        if isinstance(value, list) and value:
            yield f"  {_one(key)}: [\n"
            for i, item in enumerate(value):
                yield f"    {_one(item)}" if i == 0 else f",\n    {_one(item)}"
            yield "\n  ]"
        else:
            yield f"  {_one(key)}: {_one(value)}"
    yield "\n}\n"


class JsonReporter(Reporter):
    name = "json"

    def render(self, run: RunResult) -> str:
        return "".join(self.chunks(run))

    def chunks(self, run: RunResult) -> Iterator[str]:
        """The text of ``render``, a line at a time (what report.write writes as it goes)."""
        from edgeprobe.result.codec import to_json

        return chunks(to_json(run))
