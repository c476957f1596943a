"""Reading an untrusted HTTP answer without letting its size decide our memory."""

from __future__ import annotations

from typing import Any

CHUNK = 64 * 1024


async def read_capped(resp: Any, limit: int) -> bytes | None:
    """An aiohttp response's whole body, or None as soon as it passes ``limit`` bytes (the
    connection is then closed; the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            resp.close()
            return None
        chunks.append(chunk)
    return b"".join(chunks)
