"""The house keeps its plan: each package imports only the layers below it (no cycles, no
upward imports), the few boundary rules hold, every module is on docs/architecture.md's
map, and no source file grows past 300 lines. Reads the code with ``ast``; runs nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "edgeprobe"

# bottom up: a module may import its own package and the layers below its own
LAYERS = (
    ("_version", "errors", "vocabulary", "mastodon"),
    ("fileio",),
    ("config",),
    ("observe",),
    ("analyze",),
    ("result",),
    ("report", "incident", "merge"),
    ("notify",),
    ("pipeline",),
    ("serve", "lab"),
    ("cli",),
    ("__main__", "__init__"),
)
LAYER = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        out[".".join(parts)] = path
    return out


def _room(module: str) -> str:
    """The top-level room of a module path inside the package ('observe.fetch' → 'observe')."""
    return module.split(".")[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every edgeprobe module a file imports (top level or inside functions), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "edgeprobe":
                found += [(node.lineno, a.name) for a in node.names]
            elif node.module.startswith("edgeprobe."):
                found.append((node.lineno, node.module.removeprefix("edgeprobe.")))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name.removeprefix("edgeprobe."))
                      for a in node.names if a.name.startswith("edgeprobe.")]
    return found


MODULES = _modules()


def test_every_room_has_a_layer():
    assert {_room(m) for m in MODULES} <= set(LAYER)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down(module):
    here = _room(module)
    for line, target in _imports(MODULES[module]):
        there = _room(target)
        if there == here:
            continue
        assert LAYER[there] < LAYER[here], (
            f"{MODULES[module].relative_to(ROOT)}:{line} imports edgeprobe.{target}: "
            f"{here} (layer {LAYER[here]}) may not import {there} (layer {LAYER[there]})")


def test_boundaries():
    """observe/ never judges, report/ never re-judges, only cli/ speaks click, and no module
    inside the package takes names from its public face."""
    public_face = set(re.findall(r'^\s+"(\w+)": \(', (SRC / "__init__.py").read_text(), re.M))
    assert public_face, "edgeprobe/__init__.py's export table moved"
    for module, path in MODULES.items():
        text = path.read_text()
        targets = {t for _, t in _imports(path)}
        if module.startswith("observe"):
            assert not {t for t in targets if _room(t) in ("analyze", "result")}, module
        if module.startswith("report"):
            assert not {t for t in targets if _room(t) == "analyze"}, module
        if not module.startswith("cli"):
            assert not re.search(r"^\s*(import click|from click)", text, re.M), module
        assert not targets & public_face, f"{module} imports {targets & public_face} " \
                                          "from edgeprobe/__init__.py"


def test_no_import_cycles():
    graph = {m: {t for _, t in _imports(p) if t in MODULES} for m, p in MODULES.items()}
    done: set[str] = set()

    def visit(m: str, stack: tuple[str, ...]) -> None:
        if m in stack:
            raise AssertionError("import cycle: " + " → ".join((*stack[stack.index(m):], m)))
        if m in done:
            return
        for t in graph[m]:
            visit(t, (*stack, m))
        done.add(m)

    for m in graph:
        visit(m, ())


def test_every_module_is_on_the_map():
    """docs/architecture.md names every module (as a path under src/edgeprobe/ or, inside a
    package's row, by its file name)."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    missing = [str(p.relative_to(SRC)) for p in MODULES.values()
               if p.name != "__init__.py" and str(p.relative_to(SRC)) not in doc]
    assert not missing, f"not in docs/architecture.md: {missing}"
    for room in {_room(m) for m in MODULES}:
        if (SRC / room).is_dir():
            assert f"{room}/" in doc, f"package {room}/ is not in docs/architecture.md"


def test_no_source_file_past_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in [*SRC.rglob("*.py"), *SRC.rglob("*.j2")]
            if (n := len(p.read_text().splitlines())) > 300}
    assert not long, long
