"""Spies on the stages that tests watch from outside (tests/conftest.py stays a thin caller of
the pipeline: it imports no stage)."""

from __future__ import annotations

from typing import Any


def followups_asked_after(monkeypatch: Any) -> list[str]:
    """From now on, the node of each browser check asked after the fetch (one entry a
    check): those no engine asked within it (observe/followup.py)."""
    from edgeprobe.observe import fetch

    later: list[str] = []
    real = fetch.fetch_followups

    async def counted(site, probe, followups, origin=None):  # type: ignore[no-untyped-def]
        later.extend(f.target.node for f in followups)
        return await real(site, probe, followups, origin)

    monkeypatch.setattr(fetch, "fetch_followups", counted)
    return later
