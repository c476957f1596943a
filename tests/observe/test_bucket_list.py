"""A bucket listing's level through libcurl (observe/bucket_list.py) is, item for item, what
botocore's paginator gives for it — against moto, with keys that need escaping, levels that
take several pages, and limits that cut a page — and a healthy listing makes no client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edgeprobe.config.settings import OriginSettings
from edgeprobe.lab.s3 import BUCKET, REGION
from edgeprobe.observe import bucket_list, s3, signer

BASE = "edgeprobe-list-test/"
KEYS = ([f"{BASE}flat/{i:03d}.png" for i in range(12)]
        + [f"{BASE}flat/sub-{i}/x.png" for i in range(3)]
        + [f"{BASE}odd/a b+c.png", f"{BASE}odd/ünï cödé.png", f"{BASE}odd/p%20q.png",
           f"{BASE}odd/x~y&z=1?.png", f"{BASE}odd/space dir/k.png", f"{BASE}odd/plus+dir/k.png"])


@pytest.fixture
def listed_bucket(lab, monkeypatch) -> Iterator[OriginSettings]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEDGEPROBELIST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "list-secret")
    for key in KEYS:
        lab.lab.s3.client.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    signer._signer.cache_clear()
    s3._make_client.cache_clear()
    yield OriginSettings(bucket=BUCKET, endpoint_url=lab.lab.s3.endpoint, region=REGION)
    for key in KEYS:
        lab.lab.s3.client.delete_object(Bucket=BUCKET, Key=key)
    signer._signer.cache_clear()
    s3._make_client.cache_clear()


def _items(level: bucket_list.Level) -> tuple[list[tuple[str, int, str]], list[str]]:
    objects, subs = level
    return [(o["Key"], o["Size"], o["ETag"]) for o in objects], subs


@pytest.mark.parametrize("anonymous", [False, True])
def test_each_level_is_the_paginators_item_for_item(listed_bucket, anonymous):
    from dataclasses import replace

    settings = replace(listed_bucket, anonymous=anonymous)
    bucket = signer.signer(settings)
    assert bucket is not None
    compared = 0
    for prefix in (BASE, f"{BASE}flat/", f"{BASE}odd/", f"{BASE}odd/space dir/", f"{BASE}none/"):
        for limit in (1, 2, 5, 13, 1000):
            ours = bucket_list._plain(bucket, settings, prefix, limit, 10.0)
            assert ours is not None, (prefix, limit)
            assert _items(ours) == _items(bucket_list._by_client(settings, prefix, limit, 10.0)), (
                prefix, limit)
            compared += 1
    flat = _items(bucket_list._plain(bucket, settings, f"{BASE}flat/", 2, 10.0))
    assert [k for k, _, _ in flat[0]] == [f"{BASE}flat/000.png", f"{BASE}flat/001.png"]
    everything = _items(bucket_list._plain(bucket, settings, f"{BASE}odd/", 1000, 10.0))
    assert {k for k, _, _ in everything[0]} == {k for k in KEYS if k.startswith(f"{BASE}odd/")
                                                and k.count("/") == 2}
    assert everything[1] == [f"{BASE}odd/plus+dir/", f"{BASE}odd/space dir/"]
    assert compared == 25


def test_a_healthy_listing_makes_no_client(listed_bucket):
    # pages of 13 names: 12 objects and a sub-prefix, then the other two sub-prefixes
    found, subs = bucket_list.level(listed_bucket, f"{BASE}flat/", 13, 10.0)
    assert len(found) == 12 and subs == [f"{BASE}flat/sub-{i}/" for i in range(3)]
    assert s3._make_client.cache_info().currsize == 0


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><ListBucketResult>'
    b"<Contents><Key>&a;</Key></Contents></ListBucketResult>",
    b"<Error><Code>NoSuchBucket</Code></Error>",
    b"<ListBucketResult><Contents><Size>3</Size></Contents></ListBucketResult>",  # no Key
    b"not xml",
])
def test_what_is_not_a_plain_listing_is_left_to_the_client(body):
    assert bucket_list._page(body) is None


def test_an_unreachable_bucket_is_said_as_boto3_would_without_a_client():
    import socket

    from edgeprobe.errors import OriginError

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    s3._make_client.cache_clear()
    settings = OriginSettings(bucket="b", endpoint_url=f"http://127.0.0.1:{port}",
                              region=REGION, anonymous=True)
    with pytest.raises(OriginError) as raised:
        bucket_list.level(settings, "accounts/", 5, 5.0)
    assert (raised.value.kind, str(raised.value)) == (
        "unreachable", "cannot reach the S3 endpoint (cannot connect)")
    assert s3.map_error(raised.value, "b") is raised.value  # sample.py's note says it as is
    assert s3._make_client.cache_info().currsize == 0
