"""Discord and Slack messages: text from servers can neither ping nor disguise a link.

Discord: ``allowed_mentions: {"parse": []}`` (no @everyone, no user or role pings) and its
Markdown escaped, so ``[click](https://evil.example)`` stays text. Slack: ``&``, ``<`` and
``>`` escaped as Slack requires, so ``<!channel>`` and ``<https://evil|label>`` stay text.
"""

from __future__ import annotations

import json
from typing import Any

from edgeprobe.notify.http import call

_DISCORD_MARKUP = "\\*_~`|>[]()#-"


def discord_text(text: str) -> str:
    out = text
    for ch in _DISCORD_MARKUP:
        out = out.replace(ch, "\\" + ch)
    return out


def slack_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def send(session: Any, channel: str, url: str, text: str,
               attachment: tuple[str, bytes] | None) -> None:
    """Post one message; raises notify.http.Failed."""
    import aiohttp

    what = f"{channel} webhook"
    if channel == "slack":
        await call(session, "POST", url, what, json={"text": slack_text(text)})
        return
    payload = {"content": discord_text(text), "allowed_mentions": {"parse": []}}
    if attachment is None:
        await call(session, "POST", url, what, json=payload)
        return
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    form.add_field("files[0]", attachment[1], filename=attachment[0], content_type="text/html")
    await call(session, "POST", url, what, data=form)
