"""A stand-in for a Mastodon instance's public API, listing the lab's media."""

from __future__ import annotations

import gzip
import io
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REFUSED = {"error": "This method requires an authenticated user"}


def _bomb() -> bytes:
    """64 KiB of gzip that expands to 64 MiB of spaces (the real one was 400 KB → 400 MB)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        block = b" " * (1024 * 1024)
        for _ in range(64):
            gz.write(block)
    return out.getvalue()


def make_app(media_base: str, keys: list[str], mode: dict[str, str]) -> web.Application:
    """``mode["api"]``: "on" (statuses with media), "refuse" (401 everywhere), "empty",
    "alias" (media URLs at the media host's root, as on S3_ALIAS_HOST sites), and the hostile
    "deep" (``[`` × 100,000) and "bomb" (a gzip answer that expands 1000×)."""
    urls = [f"{media_base}/system/{k}" for k in keys]

    def gate(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if mode["api"] == "refuse":
                return web.json_response(REFUSED, status=401)
            if mode["api"] == "empty":
                return web.json_response([])
            if mode["api"] == "deep":
                return web.Response(body=b"[" * 100_000, content_type="application/json")
            if mode["api"] == "bomb":
                return web.Response(body=_bomb(), content_type="application/json",
                                    headers={"Content-Encoding": "gzip"})
            if mode["api"] == "alias":
                return web.json_response([{"media_attachments": [
                    {"url": u.replace("/system/", "/")} for u in urls]}])
            return await handler(request)
        return wrapped

    async def timeline(_request: web.Request) -> web.Response:
        statuses = [{"id": str(i), "media_attachments": [{"url": url, "preview_url": url,
                                                           "remote_url": None}],
                     "account": {"avatar": f"{media_base}/avatars/original/missing.png",
                                 "header": url}}
                    for i, url in enumerate(urls)]
        return web.json_response(statuses)

    async def not_found(_request: web.Request) -> web.Response:
        return web.json_response({"error": "Record not found"}, status=404)

    app = web.Application()
    app.router.add_get("/api/v1/timelines/public", gate(timeline))
    app.router.add_get("/api/v1/directory", gate(not_found))  # profile directory off
    app.router.add_get("/api/v1/custom_emojis", gate(not_found))
    app.router.add_get("/api/v2/instance", gate(not_found))
    return app
