"""One spelling for every word: the JSON Schema's enums and docs/run-result.md's table of
finding kinds say exactly what vocabulary.py says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edgeprobe import vocabulary
from edgeprobe.analyze.types import Finding

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "run-result.schema.json").read_text())
DEFS = SCHEMA["$defs"]


@pytest.mark.parametrize(("enum", "words"), [
    (SCHEMA["properties"]["health"]["enum"], vocabulary.HEALTH),
    (DEFS["status"]["enum"], vocabulary.STATUSES),
    (DEFS["view_status"]["enum"], vocabulary.VIEW_STATUSES),
    (DEFS["severity"]["enum"], vocabulary.SEVERITIES),
    (DEFS["verdict"]["enum"], vocabulary.VERDICTS),
    (DEFS["finding"]["properties"]["scope"]["enum"], vocabulary.SCOPES),
])
def test_schema_enums_are_the_vocabulary(enum, words):
    assert sorted(enum) == sorted(words)


def test_docs_table_of_finding_kinds_is_the_vocabulary():
    doc = (ROOT / "docs" / "run-result.md").read_text()
    table = doc[doc.index("## Finding kinds"):doc.index("## Verdicts")]
    rows = re.findall(r"^\| `(\w+)` \| (\w+)", table, re.M)
    assert [k for k, _ in rows] == list(vocabulary.FINDING_KINDS)
    for kind, scope in rows:
        assert vocabulary.FINDING_KINDS[kind].scope == scope, kind


def test_every_kind_has_a_known_scope_and_severity():
    for kind, spec in vocabulary.FINDING_KINDS.items():
        assert spec.scope in vocabulary.SCOPES, kind
        assert spec.severity in vocabulary.SEVERITIES, kind
        assert spec.meaning and len(spec.meaning) <= 80, kind


def test_schema_holds_finding_kinds_to_one_word_shape():
    """Kinds stay open for additions (a newer run may carry more), but only as words: a run
    file cannot smuggle markup into a report through a finding's kind."""
    pattern = DEFS["kind"]["pattern"]
    for kind in vocabulary.FINDING_KINDS:
        assert re.fullmatch(pattern, kind)
    for hostile in ("node_x`@everyone", "a b", "[x](y)", "<b>", ""):
        assert not re.fullmatch(pattern, hostile)


def test_an_undeclared_finding_is_a_bug_at_once():
    with pytest.raises(ValueError, match="not declared"):
        Finding("node_gremlins", "node", "cdn-1", "critical", "gremlins")
    with pytest.raises(ValueError, match="not declared"):
        Finding("node_slow", "fleet", "fleet", "warning", "wrong scope")
