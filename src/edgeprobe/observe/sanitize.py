"""Control characters out of everything a remote server said, where it enters the run result.

Edges, the bucket and the Mastodon API are untrusted (docs/security.md): a header value, an
error body or a percent-decoded key may carry terminal escapes (ESC, BEL), line breaks that
start a forged Actions workflow command, or bidirectional overrides that make text read
backwards. Each such character becomes a visible escape (``\\x1b``, ``\\u202e``), so the
value stays recognisable as evidence and can do nothing where it is shown. Error bodies keep
their newlines and tabs (shown only inside <pre> in HTML); nothing else does.
"""

from __future__ import annotations

import json
import re
from typing import Any

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ALL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\u2028\u2029{_BIDI}]")
_KEEP_LINES = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\u2028\u2029{_BIDI}]")
MULTILINE_FIELDS = frozenset({"body_excerpt"})
# what a control character looks like in json.dumps(..., ensure_ascii=False): an escape
# for those below 0x20 (\n, \u001b…), itself for the rest. A backslash the text really
# had also matches (as \\n): that only sends the tree the slow way, never lets one through.
_IN_JSON = re.compile(f"\\\\[nrtbf]|\\\\u00[0-9a-f]{{2}}|[\x7f-\x9f\u2028\u2029{_BIDI}]")


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
    MULTILINE_FIELDS keeps its newlines and tabs. A whole run's tree (4,000 checks, ~100,000
    strings) is first looked at once, as its JSON text by the C encoder: most runs hold no
    control character at all, and are then returned as they are."""
    if isinstance(value, dict | list):
        try:
            if not _IN_JSON.search(json.dumps(value, ensure_ascii=False)):
                return value
        except (TypeError, ValueError):  # not JSON-shaped: each string, one by one
            pass
    return _clean_tree(value, field)


def _clean_tree(value: Any, field: str | None = None) -> Any:
    if isinstance(value, str):
        return clean(value, keep_newlines=field in MULTILINE_FIELDS)
    if isinstance(value, dict):
        return {clean(k): _clean_tree(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_tree(v, field) for v in value]
    return value
