"""What edgeprobe knows of Mastodon, in one place: where its media live in the bucket and
on the edges, which public API answers name them, and how it stores them.

Facts checked against Mastodon's source: media keys start with one of MEDIA_CLASSES (after
an optional ``cache/`` for remote media), the missing-avatar placeholder is served by the
app and never by the bucket, and Paperclip stores every upload with MASTODON_CACHE_CONTROL
(``app/models/concerns/attachmentable.rb``)."""

from __future__ import annotations

from urllib.parse import quote, unquote

# Served by the app, never by the bucket: never a sample.
PLACEHOLDER = "/avatars/original/missing.png"
PLACEHOLDER_TAIL = PLACEHOLDER.lstrip("/")

# Public, token-free endpoints of Mastodon's API that reveal media URLs (docs/probe-file.md).
API_ENDPOINTS = (
    "/api/v1/timelines/public?local=true&only_media=true&limit=40",
    "/api/v1/directory?local=true&order=new&limit=80",
    "/api/v1/custom_emojis",
    "/api/v2/instance",
)

# The first component of every Mastodon media key (after an optional cache/).
MEDIA_CLASSES = ("accounts", "media_attachments", "custom_emojis", "preview_cards",
                 "site_uploads", "cache")

# Every upload is stored with this Cache-Control.
MASTODON_CACHE_CONTROL = "public, max-age=315576000, immutable"


def key_to_path(key: str, url_prefix: str) -> str:
    """A bucket key as the path an edge serves it under."""
    return url_prefix + quote(key, safe="/@")


def path_to_key(path: str, url_prefix: str) -> str:
    """An edge's media path as the bucket key behind it."""
    return unquote(path[len(url_prefix):])
