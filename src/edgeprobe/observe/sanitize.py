"""Control characters out of everything a remote server said, where it enters the run result.

Edges, the bucket and the Mastodon API are untrusted (docs/security.md): a header value, an
error body or a percent-decoded key may carry terminal escapes (ESC, BEL), line breaks that
start a forged Actions workflow command, or bidirectional overrides that make text read
backwards. Each such character becomes a visible escape (``\\x1b``, ``\\u202e``), so the
value stays recognisable as evidence and can do nothing where it is shown. Error bodies keep
their newlines and tabs (shown only inside <pre> in HTML); nothing else does.
"""

from __future__ import annotations

import re
from typing import Any

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ALL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\u2028\u2029{_BIDI}]")
_KEEP_LINES = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\u2028\u2029{_BIDI}]")
MULTILINE_FIELDS = frozenset({"body_excerpt"})


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every control character made a visible escape. Where newlines are
    kept, a CRLF line end becomes LF first (a lone CR, which can overwrite a terminal
    line, stays an escape)."""
    if text.isprintable():  # no control character at all: the common case, at C speed
        return text
    if keep_newlines:
        return _KEEP_LINES.sub(_escape, text.replace("\r\n", "\n"))
    return _ALL.sub(_escape, text)


def clean_tree(value: Any, field: str | None = None) -> Any:
    """Every string (keys included) of a JSON-shaped value, cleaned; a field named in
    MULTILINE_FIELDS keeps its newlines and tabs."""
    if isinstance(value, str):
        return clean(value, keep_newlines=field in MULTILINE_FIELDS)
    if isinstance(value, dict):
        return _clean_dict(value)
    if isinstance(value, list | tuple):
        return [clean_tree(v, field) for v in value]
    return value


_LEAVES = frozenset({int, float, bool, type(None)})


def _clean_dict(value: dict[str, Any]) -> dict[str, Any]:
    """clean_tree of a dict, its keys and its plain leaves handled here without a call each:
    a 4,000-check run holds ~100,000 of them, and a call per leaf was most of the cost of
    building its run result (docs/performance.md)."""
    out = {}
    for k, v in value.items():
        kind = type(v)
        if kind is str:
            v = v if v.isprintable() else clean(v, keep_newlines=k in MULTILINE_FIELDS)
        elif kind is dict:
            v = _clean_dict(v)
        elif kind not in _LEAVES:
            v = clean_tree(v, k)
        out[k if type(k) is str and k.isprintable() else clean(k)] = v
    return out
