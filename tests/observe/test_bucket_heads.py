"""The bucket's HEADs (observe/bucket_heads.py): presigned by botocore, sent by libcurl, read
as S3 answers; boto3 for what only it understands; no signed URL in any message.

moto answers the plain cases elsewhere (tests/observe/test_stages.py); the cases moto cannot
be made to give (a 403 for one key, a 400, a connection dropped mid-request) come from a
hostile S3 endpoint on loopback that answers each key its own way and records who asked."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from edgeprobe._version import __version__
from edgeprobe.config.settings import OriginSettings
from edgeprobe.observe.origin import check_origin, content_types
from edgeprobe.observe.s3 import make_client

SECRETS = ("AKIDEDGEPROBETEST", "s3cr3t-edgeprobe", "TOKEN-edgeprobe-secret")
# key → the status line the endpoint answers a HEAD with (None: drop the connection)
ANSWERS = {"ok.png": "200 OK", "gone.png": "404 Not Found", "denied.png": "403 Forbidden",
           "odd.png": "400 Bad Request", "drop.png": None}


class HostileS3:
    """HEAD /bucket → 200; HEAD /bucket/KEY → ANSWERS[KEY]; records (path, user agent)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        path = head[0].split()[1].split("?")[0]
        agent = next((h.split(":", 1)[1].strip() for h in head
                      if h.lower().startswith("user-agent:")), "")
        self.asked.append((path, agent))
        key = path.split("/", 2)[2] if path.count("/") > 1 else ""
        status = ANSWERS.get(key, "404 Not Found") if key else "200 OK"
        if status is None:
            writer.close()
            return
        extra = ("Content-Length: 5\r\nETag: \"abc\"\r\nContent-Type: image/png\r\n"
                 if status.startswith("200") and key else "Content-Length: 0\r\n")
        writer.write(f"HTTP/1.1 {status}\r\n{extra}Connection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()


@pytest.fixture
def hostile_s3(monkeypatch) -> Iterator[HostileS3]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SECRETS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRETS[1])
    monkeypatch.setenv("AWS_SESSION_TOKEN", SECRETS[2])
    server = HostileS3()
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    server.ready.wait(10)
    yield server
    server.loop.call_soon_threadsafe(server.loop.stop)


def _settings(server: HostileS3) -> OriginSettings:
    return OriginSettings(bucket="media", endpoint_url=f"http://127.0.0.1:{server.port}",
                          region="us-east-1")


def test_each_answer_is_read_and_only_the_odd_one_asks_boto3(hostile_s3):
    facts = asyncio.run(check_origin(_settings(hostile_s3), list(ANSWERS), timeout_s=5.0))
    got = facts.objects
    assert facts.available is True
    assert (got["ok.png"].exists, got["ok.png"].size, got["ok.png"].etag,
            got["ok.png"].content_type) == (True, 5, '"abc"', "image/png")
    assert got["gone.png"].exists is False and got["gone.png"].error is None
    assert got["denied.png"].exists is None
    assert got["denied.png"].error.startswith("403 from the bucket: missing, or no permission")
    assert got["odd.png"].exists is None and "400" in got["odd.png"].error
    assert got["drop.png"].exists is None
    assert got["drop.png"].error == ("bucket 'media': the server closed the connection "
                                     "without answering")
    by_key: dict[str, list[str]] = {}
    for path, agent in hostile_s3.asked:
        by_key.setdefault(path.removeprefix("/media/"), []).append(agent)
    curl = f"edgeprobe/{__version__}"  # libcurl's requests; botocore names itself
    assert by_key["ok.png"] == by_key["gone.png"] == by_key["denied.png"] == [curl]
    assert by_key["drop.png"] == [curl]  # a failed connection is an answer: not asked twice
    assert by_key["odd.png"][0] == curl and "Botocore" in by_key["odd.png"][1]
    said = " ".join(str(o.error) for o in got.values())
    for secret in (*SECRETS, "X-Amz", "Signature"):
        assert secret not in said


def test_content_types_come_from_the_same_heads(hostile_s3):
    types = asyncio.run(content_types(_settings(hostile_s3), ["ok.png", "gone.png", "drop.png"],
                                      timeout_s=5.0))
    assert types == {"ok.png": "image/png", "gone.png": None, "drop.png": None}


def test_clients_share_botocore_data_but_not_credentials(hostile_s3, monkeypatch):
    """The canary's anonymous client and the bucket check's signed one parse botocore's
    models once between them (~15 MB each time otherwise), while each session still reads
    the credential chain as it is when its client is made."""
    settings = _settings(hostile_s3)
    signed = make_client(settings, 5.0)
    anonymous = make_client(replace(settings, anonymous=True), 5.0)
    assert signed is not anonymous and signed._loader is anonymous._loader
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSECONDCLIENT")
    other = make_client(replace(settings, region="eu-west-1"), 5.0)
    assert other._loader is signed._loader
    assert other._request_signer._credentials.access_key == "AKIDSECONDCLIENT"
    assert signed._request_signer._credentials.access_key == SECRETS[0]
