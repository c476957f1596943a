"""The run result as JSON (docs/run-result.md; schema in docs/run-result.schema.json)."""

from __future__ import annotations

import json

from edgeprobe.result.types import RunResult


class JsonReporter:
    name = "json"

    def render(self, run: RunResult) -> str:
        from edgeprobe.result.codec import to_json

        return json.dumps(to_json(run), indent=2, ensure_ascii=False) + "\n"
