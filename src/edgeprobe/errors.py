"""Every exception edgeprobe raises on purpose, in one tree.

    EdgeprobeError                 base: a message meant for a person, never a bug
    ├── ConfigError                the probe file is bad (file, key, line)       → exit 2
    ├── RunFileError               a saved run-result JSON is unreadable/foreign → exit 2
    ├── MergeError                 runs that cannot be merged (same vantage, …)   → exit 2
    ├── ProbeError                 the probe cannot run at all (nothing to probe) → exit 2
    ├── LabError                   the lab fleet cannot start (extra missing, …)  → exit 2
    ├── OutputError                a report or state file cannot be written       → exit 2
    ├── EnvError                   an environment variable has a bad value       → exit 2
    └── CheckError                 one check failed; caught and stored as *data*
        ├── DnsError               a node's host does not resolve
        ├── OriginError            the bucket cannot be checked
        └── FetchError             one request to one node failed

Library errors (dnspython, botocore, aiohttp) are mapped to a CheckError at the
stage boundary with ``raise … from exc``; the stage then records it in its
result dataclass, so one failed check never aborts the run. Only the CLI turns
the other errors into a message and an exit status: 2 for these, 130 for Ctrl-C, and 3 for
anything else (a bug, with its traceback).
"""

from __future__ import annotations


class EdgeprobeError(Exception):
    """Base class: ``str(exc)`` is a complete message for a person."""


class ConfigError(EdgeprobeError):
    """A probe file that cannot be used; names the file, the key and the line."""

    def __init__(self, file: str, key: str | None, message: str, line: int | None = None) -> None:
        self.file = file
        self.key = key
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


class RunFileError(EdgeprobeError):
    """A run-result JSON that is malformed or of another schema."""


class MergeError(EdgeprobeError):
    """Runs that cannot be merged: names the file and why (edgeprobe merge)."""


class ProbeError(EdgeprobeError):
    """The probe could not run at all (for example: no node or no object to probe)."""


class LabError(EdgeprobeError):
    """The built-in lab fleet cannot start."""


class OutputError(EdgeprobeError):
    """A report or state file cannot be written."""


class EnvError(EdgeprobeError):
    """An environment variable edgeprobe reads has a value it cannot use."""


class CheckError(EdgeprobeError):
    """One failed check. ``kind`` is a stable machine word, the message is for people."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


class DnsError(CheckError):
    """kind: nxdomain, no_address, servfail, timeout, error."""


class OriginError(CheckError):
    """kind: unreachable, access_denied, no_such_bucket, no_credentials, error."""


class FetchError(CheckError):
    """kind: unreachable, tls_error, timeout, protocol_error, truncated."""
