"""Signed bucket URLs without a botocore client (observe/signer.py): byte for byte what
botocore's own client presigns, and a healthy run that asks the bucket without ever making
a client (its models cost ~14 MB and ~0.1 s of CPU).

The signature itself is botocore's (``botocore.auth``); what edgeprobe forms is the URL it
signs, so the URLs are compared with the client's, the clock pinned for both. moto checks
only header-signed requests (its IAM check reads the Authorization header), so no loopback
server here verifies a presigned signature: the comparison is the proof."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator

import pytest

from edgeprobe import config, pipeline
from edgeprobe.config.settings import OriginSettings
from edgeprobe.lab.s3 import BUCKET
from edgeprobe.observe import bucket_list, s3, signer
from edgeprobe.pipeline import Scope
from edgeprobe.result.files import run_json

ENDPOINTS = ("http://127.0.0.1:9000", "https://s3.eu.example.com", "https://s3.example.com/",
             "https://storage.example:8443")
REGIONS = (None, "us-east-1", "eu-central-1")  # us-east-1: botocore's SigV2 by default
KEYS = ("media_attachments/files/109/530/102/400/672/238/original/0a1b2c3d4e5f6a7b.png",
        "a/b c+d~e.png", "ünï/cödé.png", "x?y#z&%=;@!$'()*,:.png")


@pytest.fixture
def fresh(monkeypatch, tmp_path) -> Iterator[None]:
    """A chain that holds these credentials only, and no cached signer or client."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEDGEPROBESIGNER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t/with+signs=")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token/with+signs=")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    signer._signer.cache_clear()
    s3._make_client.cache_clear()
    yield
    signer._signer.cache_clear()
    s3._make_client.cache_clear()


@pytest.mark.parametrize("profile_region", [None, "ap-southeast-2"])
def test_urls_are_the_clients_byte_for_byte(fresh, monkeypatch, profile_region):
    import botocore.auth

    pinned = datetime.datetime(2026, 12, 1, 12, 0, 0)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: pinned)
    if profile_region:
        monkeypatch.setenv("AWS_DEFAULT_REGION", profile_region)
    compared = 0
    for endpoint, region, anonymous in itertools.product(ENDPOINTS, REGIONS, (False, True)):
        settings = OriginSettings(bucket="media-bucket", endpoint_url=endpoint, region=region,
                                  anonymous=anonymous)
        ours = signer.signer(settings)
        assert ours is not None, settings
        client = s3.make_client(settings, 5.0)
        for key in KEYS:
            for method, operation in (("HEAD", "head_object"), ("GET", "get_object")):
                want = client.generate_presigned_url(
                    operation, Params={"Bucket": "media-bucket", "Key": key},
                    ExpiresIn=signer.PRESIGN_S)
                assert ours.url(method, key) == want, (settings, key)
                compared += 1
        want = client.generate_presigned_url("head_bucket", Params={"Bucket": "media-bucket"},
                                             ExpiresIn=signer.PRESIGN_S)
        assert ours.url("HEAD") == want, settings
        for prefix, token in ((KEYS[1], None), (KEYS[3], "1/a+b=="), ("", "x y")):
            params = {"Bucket": "media-bucket", "Prefix": prefix, "Delimiter": "/",
                      "MaxKeys": 1000, **({"ContinuationToken": token} if token else {})}
            want = client.generate_presigned_url("list_objects_v2", Params=params,
                                                 ExpiresIn=signer.PRESIGN_S)
            query = bucket_list.page_query(prefix, 1000, token)
            assert ours.url("GET", query=query) == want, (settings, prefix)
        if not anonymous:
            assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in want  # SigV4, never SigV2
            assert f"%2F{region or profile_region or 'us-east-1'}%2Fs3%2F" in want
    assert compared == len(ENDPOINTS) * len(REGIONS) * 2 * len(KEYS) * 2


def test_only_an_endpoint_without_a_path_is_signed_here(fresh):
    """AWS's own endpoints (virtual-hosted, regional rules) and an endpoint with a path
    are the client's to form."""
    for endpoint in (None, "https://storage.example/s3", "https://storage.example/?x=1"):
        assert signer.signer(OriginSettings(bucket="b", endpoint_url=endpoint,
                                            region="eu-west-1")) is None


def test_an_empty_chain_is_said_before_anything_is_sent(fresh, monkeypatch):
    from botocore.exceptions import NoCredentialsError

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    settings = OriginSettings(bucket="b", endpoint_url="http://127.0.0.1:9", region="eu-west-1")
    with pytest.raises(NoCredentialsError):
        signer.signer(settings)
    assert s3.map_error(NoCredentialsError(), "b").kind == "no_credentials"


@pytest.mark.parametrize("anonymous", [True, False])
def test_a_healthy_run_asks_the_bucket_without_a_botocore_client(lab, fresh, anonymous):
    """The bucket's HEAD, each key's HEAD and the canary's GET all go to moto through
    libcurl; no client is made. (The canary reference is moto's own answer.)"""
    text = lab.probe_file().read_text()
    if not anonymous:
        text = text.replace("anonymous = true", "anonymous = false")
    path = lab.lab.dir / "signer.toml"
    path.write_text(text)
    asked = len(lab.lab.s3.requests)
    run = run_json(pipeline.probe(config.load(path), Scope.of(None, None)))
    assert run["ok"] is True and run["origin"]["available"] is True
    assert run["canary"]["reference"] == {"status_code": 404, "code": "NoSuchKey", "error": None}
    assert s3._make_client.cache_info().currsize == 0
    assert ("HEAD", f"/{BUCKET}") in lab.lab.s3.requests[asked:]  # asked, and not by a client
