"""The probe file → ``Settings``: the typed settings and their defaults (settings.py,
defaults.py), the reader that walks a TOML file and adds file, key and line to every error
(reader.py), the checks of single values (rules.py) and the file's text helpers (text.py).

The names below are imported on first use: a fetch worker process (observe/worker.py)
needs the settings types, not the TOML reader."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeprobe.config.reader import default_path, load, loads
    from edgeprobe.config.settings import Settings

_EXPORTS = {"Settings": "edgeprobe.config.settings", "default_path": "edgeprobe.config.reader",
            "load": "edgeprobe.config.reader", "loads": "edgeprobe.config.reader"}
__all__ = ["Settings", "default_path", "load", "loads"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'edgeprobe.config' has no attribute {name!r}")
