"""The run result's files: JSON out (``dump``) and back (``parse``), saved runs loaded
(``load``: validated against the published schema, completed by ``upgrade``), and the exit
status a run gives."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from edgeprobe.analyze.summary import fleet_headers, header_diffs, matches
from edgeprobe.errors import RunFileError
from edgeprobe.observe.sanitize import clean_tree
from edgeprobe.result.codec import from_json, to_json
from edgeprobe.result.types import RunResult
from edgeprobe.result.validation import violation
from edgeprobe.vocabulary import fails, health

SCHEMA = "edgeprobe/run@1"
MERGED_SCHEMA = "edgeprobe/run@2"  # edgeprobe merge: run@1 plus the vantages
SCHEMAS = (SCHEMA, MERGED_SCHEMA)
# A run file is another machine's: read only up to this (a run of 50 edges by 50 objects is
# about 2 MB; a 33 MB file took 0.2 474 MB of memory to merge)
MAX_RUN_BYTES = 16 * 1024 * 1024


def exit_status(run: RunResult, fail_on: str) -> int:
    """1 when a finding is at or above ``fail_on`` (critical|warning|never), else 0."""
    return 1 if any(fails(f.severity, fail_on) for f in run.findings) else 0


def parse_run(data: dict[str, Any]) -> RunResult:
    """A run-result dict that is valid against the schema (a file's, or one made by hand or
    by a test) as a complete RunResult (see ``upgrade``)."""
    return from_json(RunResult, clean_tree(upgrade(copy.deepcopy(data))))


def run_json(run: RunResult) -> dict[str, Any]:
    """The run result as its JSON object."""
    data: dict[str, Any] = to_json(run)
    return data


def load_run(path: str) -> RunResult:
    """Read a saved run result; anything malformed, foreign or not valid against the
    published JSON Schema is a RunFileError naming the file and the JSON path."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0  # a FIFO, or missing: the open below says which
    if size > MAX_RUN_BYTES:
        raise RunFileError(f"{path}: {size} bytes, larger than a run result may be "
                           f"({MAX_RUN_BYTES // (1024 * 1024)} MiB)")
    try:
        with open(path, encoding="utf-8") as fh:
            run = json.load(fh)
    except FileNotFoundError:
        raise RunFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFileError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise RunFileError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise RunFileError(f"{path}: not valid JSON: nested too deeply") from None
    if not isinstance(run, dict) or run.get("schema") not in SCHEMAS:
        found = run.get("schema") if isinstance(run, dict) else type(run).__name__
        raise RunFileError(f"{path}: not an edgeprobe run result (schema {found!r}, "
                           f"expected {' or '.join(map(repr, SCHEMAS))})")
    problem = schema_problem(run)
    if problem:
        raise RunFileError(f"{path}: {problem}")
    # another machine's file: control characters escaped as on the probe path
    return from_json(RunResult, clean_tree(upgrade(run)))


def upgrade(run: dict[str, Any]) -> dict[str, Any]:
    """Fill in the fields a run saved by an older edgeprobe lacks (health, the fleet's
    headers, each node's differences from them, each check's size/MD5 match), by the
    analysis' own rules, so reports read them and never derive them."""
    run.setdefault("health", health(f["severity"] for f in run.get("findings", [])))
    nodes, objects = run.get("nodes", []), run.get("objects", [])
    checked = {n["name"]: n.get("headers") or {} for n in nodes if n["checks"]}
    usual = run.setdefault("fleet_headers", fleet_headers(checked))
    for node in nodes:
        node.setdefault("header_diffs", header_diffs(node.get("headers") or {}, usual)
                        if node["checks"] else {})
    for obj in objects:
        ref = obj.get("reference") or {}
        for r in obj["results"].values():
            if "size_matches" not in r:
                r["size_matches"], r["md5_matches"] = matches(
                    r.get("status_code"), r.get("size"), r.get("md5"), ref.get("size"),
                    ref.get("md5"))
    return run


def schema_problem(run: Any) -> str | None:
    """The most relevant violation of the run-result schema, as 'at JSONPATH: why', or None."""
    found = violation(run_schema(), run)
    return f"not a valid run result at {found[0]}: {found[1]}" if found else None


def run_schema() -> dict[str, Any]:
    """The published JSON Schema (docs/run-result.schema.json), shipped inside the package."""
    from importlib import resources

    schema_file = resources.files("edgeprobe.result").joinpath("schema", "run-result.schema.json")
    text = schema_file.read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
