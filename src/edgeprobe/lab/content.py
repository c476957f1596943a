"""Mastodon-like objects for the lab: real PNG bytes under real key shapes (docs/lab.md)."""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class LabObject:
    key: str
    size_hint: int  # bytes wanted; the PNG comes out a little larger
    content_type: str = "image/png"
    multipart: bool = False


def partition(record_id: int) -> str:
    """Paperclip's id partition: zero-padded to 9 digits, split in groups of three."""
    digits = f"{record_id:09d}"
    digits = digits.zfill((len(digits) + 2) // 3 * 3)
    return "/".join(digits[i:i + 3] for i in range(0, len(digits), 3))


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def default_objects(seed: int = 1) -> tuple[LabObject, ...]:
    """Twelve images, 5 KB to 2 MB, plus one multipart video; the same for a given seed."""
    rng = random.Random(seed)
    snow = (109533625055149737, 109530102400672238, 110242917332004561, 111020345771254829,
            110774501889343110)
    return (
        LabObject(f"accounts/avatars/{partition(1)}/original/{_hex(rng)}.png", 48_000),
        LabObject(f"accounts/avatars/{partition(snow[0])}/original/{_hex(rng)}.png", 12_000),
        LabObject(f"accounts/headers/{partition(23634)}/original/{_hex(rng)}.png", 180_000),
        LabObject(f"media_attachments/files/{partition(snow[1])}/original/{_hex(rng)}.png",
                  2_000_000),
        LabObject(f"media_attachments/files/{partition(snow[1])}/small/{_hex(rng)}.png", 40_000),
        LabObject(f"media_attachments/files/{partition(snow[2])}/original/{_hex(rng)}.png",
                  600_000),
        LabObject(f"media_attachments/files/{partition(snow[2])}/small/{_hex(rng)}.png", 25_000),
        LabObject(f"cache/media_attachments/files/{partition(snow[3])}/small/{_hex(rng)}.png",
                  30_000),
        LabObject(f"cache/accounts/avatars/{partition(snow[4])}/original/{_hex(rng)}.png",
                  20_000),
        LabObject(f"custom_emojis/images/{partition(11739)}/static/blobaww.png", 5_000),
        LabObject(f"preview_cards/images/{partition(14179145)}/original/{_hex(rng)}.png", 90_000),
        LabObject(f"site_uploads/files/{partition(1)}/@1x/{_hex(rng)}.png", 15_000),
        LabObject(f"media_attachments/files/{partition(snow[2])}/original/{_hex(rng)}.mp4",
                  600_000, "video/mp4", multipart=True),
    )


def png(size_hint: int, seed: str) -> bytes:
    """A valid PNG of about ``size_hint`` bytes: a noise image (noise does not compress)."""
    side = max(8, int((size_hint / 3) ** 0.5))
    rng = random.Random(seed)
    row = side * 3
    raw = b"".join(b"\x00" + rng.randbytes(row) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def mp4(size_hint: int, seed: str) -> bytes:
    """An ISO-BMFF-shaped blob (ftyp box, then an mdat of noise): enough to look like video."""
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isomiso2"
    body = random.Random(seed).randbytes(max(0, size_hint - len(ftyp) - 8))
    return ftyp + struct.pack(">I", len(body) + 8) + b"mdat" + body


def body_of(obj: LabObject) -> bytes:
    return mp4(obj.size_hint, obj.key) if obj.content_type == "video/mp4" else png(
        obj.size_hint, obj.key)
