"""Incidents across runs (``--state FILE``): the state file (state.py) and the pure
transitions that declare, update and resolve an incident from each run (machine.py)."""

from edgeprobe.incident.machine import advance, apply
from edgeprobe.incident.state import (
    STATE_SCHEMA,
    State,
    fresh_state,
    issue_number,
    load_state,
    save_state,
)

__all__ = ["STATE_SCHEMA", "State", "advance", "apply", "fresh_state", "issue_number",
           "load_state", "save_state"]
