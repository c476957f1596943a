"""edgeprobe: ask every CDN edge of a site, one by one, whether it serves what is in the bucket.

The library surface (what a Python user may import and rely on; the rest is private):

    from edgeprobe import load_config, probe, Scope
    settings = load_config("probes/site.toml")
    run = probe(settings, Scope.region("us-west"), state=".edgeprobe/state.json")

``probe`` returns the run result (docs/run-result.md); ``load_run`` reads a saved one,
``render`` turns one into ``json``, ``html``, ``markdown`` or ``terminal`` text. Names are
imported on first use, so ``import edgeprobe`` (and ``edgeprobe --help``) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from edgeprobe._version import __version__

_EXPORTS = {
    "probe": ("edgeprobe.pipeline", "probe"),
    "probe_async": ("edgeprobe.pipeline", "probe_async"),
    "Scope": ("edgeprobe.pipeline", "Scope"),
    "load_config": ("edgeprobe.config", "load"),
    "Settings": ("edgeprobe.config.settings", "Settings"),
    "load_run": ("edgeprobe.result.files", "load_run"),
    "parse_run": ("edgeprobe.result.files", "parse_run"),
    "run_json": ("edgeprobe.result.files", "run_json"),
    "RunResult": ("edgeprobe.result.types", "RunResult"),
    "render": ("edgeprobe.report", "render"),
    "exit_status": ("edgeprobe.result.files", "exit_status"),
    "EdgeprobeError": ("edgeprobe.errors", "EdgeprobeError"),
    "ConfigError": ("edgeprobe.errors", "ConfigError"),
    "ProbeError": ("edgeprobe.errors", "ProbeError"),
    "RunFileError": ("edgeprobe.errors", "RunFileError"),
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'edgeprobe' has no attribute {name!r}")
