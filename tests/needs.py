"""The one rule for tests that drive a real tool from outside Python (nginx, gdnsd,
prometheus, Chromium, actionlint): skipped where it is missing, except in CI (CI=true),
where scripts/setup installs it and a skip would hide a broken feature."""

from __future__ import annotations

import os
from typing import NoReturn, TypeVar

import pytest

T = TypeVar("T")


def missing(what: str, install: str) -> NoReturn:
    """Fail in CI, skip elsewhere; ``install`` says how to get ``what``."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must have {what} ({install})")
    pytest.skip(f"needs {what} ({install})")


def need(found: T | None, what: str, install: str) -> T:
    """``found`` (a path, a module, …), or fail in CI / skip elsewhere."""
    if found is None:
        missing(what, install)
    return found
