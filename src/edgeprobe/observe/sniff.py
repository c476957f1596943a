"""What a file is, from its first bytes (the signatures browsers and ``file`` use): the
type an object's bytes say it has, whatever type a bucket or an edge labels it with."""

from __future__ import annotations

IMAGE, VIDEO, AUDIO = "image", "video", "audio"


def sniff(data: bytes) -> str | None:
    """The MIME type of a body's first bytes (16 are enough), or None when unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"fLaC"):
        return "audio/flac"
    return None


def media_class(mime: str | None) -> str | None:
    """``image``, ``video``, ``audio`` or None (text, octet-stream, unknown)."""
    head = (mime or "").split("/", 1)[0].strip().lower()
    return head if head in (IMAGE, VIDEO, AUDIO) else None


def mime_of(header: str | None) -> str | None:
    """A Content-Type header's type, lower-case, without parameters."""
    value = (header or "").split(";", 1)[0].strip().lower()
    return value or None
