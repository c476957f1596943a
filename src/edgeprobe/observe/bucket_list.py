"""One level of a bucket's listing (ListObjectsV2, ``Delimiter="/"``), as botocore's
paginator gives it, asked through libcurl where signer.py forms the bucket's URLs.

The paginator needs the client (S3's models: ~14 MB and ~0.1 s of CPU, s3.py). A level
is a few pages of XML that libcurl fetches with signed URLs (bucket_heads.ask_one) and
ElementTree reads — an answer with a document type or an entity is left to the client,
expat ≥ 2.4.1 refuses entity bombs anyway, ElementTree fetches no external entity, and a
page is read up to MAX_PAGE bytes. The result is the paginator's to the
item: pages of ``min(limit, 1000)`` names (S3's MaxKeys counts objects and sub-prefixes),
objects cut at ``limit`` (its MaxItems counts the first result key, Contents, only),
keys URL-decoded where the answer says ``EncodingType`` url (botocore asks for it, then
decodes). An endpoint that cannot be reached or does not answer in time is said as boto3's
would be (bucket_heads.ask_one); anything else — a status other than 200, an answer
that is not a listing, a TLS failure — lists the level again through the client, which
reads or reports it (tests/observe/test_bucket_list.py holds both paths to the same
answers).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus
from xml.etree import ElementTree

from edgeprobe.config.settings import OriginSettings
from edgeprobe.observe import bucket_heads
from edgeprobe.observe.s3 import make_client
from edgeprobe.observe.signer import Signer, signer

PAGE_KEYS = 1000  # S3's most names in one page
MAX_PAGE = 8 * 1024 * 1024  # bytes of one page's answer (1,000 names of up to 1 KiB, escaped)
Level = tuple[list[dict[str, Any]], list[str]]  # objects (Key, Size, ETag), sub-prefixes


def level(settings: OriginSettings, prefix: str, limit: int, timeout_s: float) -> Level:
    """The objects directly under ``prefix`` (at most ``limit``) and its sub-prefixes.
    Blocking; raises OriginError, or what the client raises, for a bucket that cannot be
    listed (s3.map_error reads both)."""
    bucket = signer(settings)
    if bucket is not None:
        found = _plain(bucket, settings, prefix, limit, timeout_s)
        if found is not None:
            return found
    return _by_client(settings, prefix, limit, timeout_s)


def _by_client(settings: OriginSettings, prefix: str, limit: int, timeout_s: float) -> Level:
    paginator = make_client(settings, timeout_s).get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket=settings.bucket, Prefix=prefix, Delimiter="/",
                                    PaginationConfig={"MaxItems": limit,
                                                      "PageSize": min(limit, PAGE_KEYS)}))
    return ([o for page in pages for o in page.get("Contents", [])],
            [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])])


def _plain(bucket: Signer, settings: OriginSettings, prefix: str, limit: int,
           timeout_s: float) -> Level | None:
    objects: list[dict[str, Any]] = []
    subs: list[str] = []
    token: str | None = None
    while True:
        url = bucket.url("GET", query=page_query(prefix, min(limit, PAGE_KEYS), token))
        # raises for an endpoint that cannot be reached or does not answer in time
        answer = bucket_heads.ask_one(settings, "GET", url, timeout_s, MAX_PAGE)
        page = _page(bytes(answer.body)) if answer is not None and answer.status == 200 \
            else None
        if page is None:
            return None
        contents, prefixes, next_token = page
        subs += prefixes
        if len(objects) + len(contents) >= limit:
            return objects + contents[:limit - len(objects)], subs
        objects += contents
        if next_token is None:
            return objects, subs
        if next_token == token:  # the paginator's PaginationError: let the client say it
            return None
        token = next_token


def page_query(prefix: str, keys: int, token: str | None) -> list[tuple[str, str]]:
    """A page's query, as botocore's serializer writes it (EncodingType url: botocore adds
    it to every listing, and decodes what comes back)."""
    return [("list-type", "2"), ("prefix", prefix), ("delimiter", "/"), ("max-keys", str(keys)),
            *([("continuation-token", token)] if token is not None else []),
            ("encoding-type", "url")]


def _page(body: bytes) -> tuple[list[dict[str, Any]], list[str], str | None] | None:
    """One ListBucketResult: its objects, sub-prefixes and the next page's token (None: the
    last page); None for anything else."""
    if b"<!" in body:  # a DOCTYPE or an entity: never S3's; the client's parser decides
        return None
    try:
        # expat (>= 2.4.1) refuses entity bombs, ElementTree resolves no external entity,
        # and a document type never gets this far: nothing defusedxml adds applies here
        root = ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError:
        return None
    if _tag(root) != "ListBucketResult":
        return None
    fields = {_tag(child): child.text or "" for child in root
              if _tag(child) not in ("Contents", "CommonPrefixes")}
    decode = unquote_plus if fields.get("EncodingType") == "url" else str
    contents: list[dict[str, Any]] = []
    prefixes: list[str] = []
    for child in root:
        parts = {_tag(c): c.text or "" for c in child}
        if _tag(child) == "Contents":
            if "Key" not in parts:
                return None
            found: dict[str, Any] = {"Key": decode(parts["Key"])}
            if parts.get("Size", "").isdigit():
                found["Size"] = int(parts["Size"])
            if "ETag" in parts:
                found["ETag"] = parts["ETag"]
            contents.append(found)
        elif _tag(child) == "CommonPrefixes" and "Prefix" in parts:
            prefixes.append(decode(parts["Prefix"]))
    more = fields.get("IsTruncated", "").strip() == "true"
    return contents, prefixes, (fields.get("NextContinuationToken") or None) if more else None


def _tag(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]  # S3's namespace, or none (some stores)
