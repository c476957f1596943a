"""The action installs its dependencies from a hash-pinned lock: the lock must cover
exactly what pyproject.toml asks for, at versions it allows, every file by hash."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

LOCK = ROOT / "requirements" / "action.txt"


def _pins() -> dict[str, tuple[str, int]]:
    """name → (version, number of hashes) from a pip-compile --generate-hashes file."""
    text = LOCK.read_text()
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = re.match(r"([A-Za-z0-9_.\-]+)==([^\s\\]+)", block)
        if head:
            pins[canonicalize_name(head.group(1))] = (head.group(2),
                                                      block.count("--hash=sha256:"))
    return pins


def test_every_dependency_is_pinned_by_hash_at_an_allowed_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [Requirement(r) for r in project["project"]["dependencies"]]
    wanted += [Requirement(r) for r in project["build-system"]["requires"]]
    pins = _pins()
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in {LOCK.name}: re-run pip-compile"
        version, hashes = pins[name]
        assert req.specifier.contains(version, prereleases=True), (req, version)
        assert hashes >= 1, name
    assert all(hashes >= 1 for _, hashes in pins.values())
    assert "--find-links" not in LOCK.read_text() and "--index-url" not in LOCK.read_text()


def test_the_action_installs_with_require_hashes_and_nothing_else():
    action = (ROOT / "action.yml").read_text()
    assert "--require-hashes --no-deps \\\n          -r \"$ACTION_PATH/requirements/action.txt\"" \
        in action
    assert "--no-deps --no-build-isolation \\\n          --no-index \"$ACTION_PATH\"" in action
    assert action.count("pip install") == 2
