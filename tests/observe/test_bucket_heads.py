"""The bucket's HEADs (observe/bucket_heads.py): presigned by botocore, sent by libcurl, read
as S3 answers; boto3 for what only it understands; no signed URL in any message.

moto answers the plain cases elsewhere (tests/observe/test_stages.py); the cases moto cannot
be made to give (a 403 for one key, a 400, a connection dropped mid-request) come from a
hostile S3 endpoint on loopback that answers each key its own way and records who asked."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from edgeprobe._version import __version__
from edgeprobe.config.settings import OriginSettings
from edgeprobe.observe import s3, signer
from edgeprobe.observe.canary import reference
from edgeprobe.observe.observations import SampleObject
from edgeprobe.observe.origin import check_origin, content_types
from edgeprobe.observe.s3 import make_client

SECRETS = ("AKIDEDGEPROBETEST", "s3cr3t-edgeprobe", "TOKEN-edgeprobe-secret")
# key → the status line the endpoint answers a HEAD with (None: drop the connection)
ANSWERS = {"ok.png": "200 OK", "gone.png": "404 Not Found", "denied.png": "403 Forbidden",
           "odd.png": "400 Bad Request", "drop.png": None}


def _error(code: str) -> str:
    return f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code></Error>"


class HostileS3:
    """HEAD /bucket → ``bucket`` (200 unless a test says); HEAD /bucket/KEY → ANSWERS[KEY];
    GET /bucket/KEY → ``gets[KEY]`` (status line, body); records (path, user agent)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.asked: list[tuple[str, str]] = []
        self.bucket: str | None = "200 OK"
        self.gets: dict[str, tuple[str | None, str]] = {}
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, path = head[0].split()[0], head[0].split()[1].split("?")[0]
        agent = next((h.split(":", 1)[1].strip() for h in head
                      if h.lower().startswith("user-agent:")), "")
        self.asked.append((path, agent))
        key = path.split("/", 2)[2] if path.count("/") > 1 else ""
        if method == "GET" and key in self.gets:
            status, body = self.gets[key]
            if status is None:
                writer.close()
                return
            writer.write(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
                         f"Connection: close\r\n\r\n{body}".encode())
            await writer.drain()
            writer.close()
            return
        status = ANSWERS.get(key, "404 Not Found") if key else self.bucket
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
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0,
                                                                   ssl=self.tls))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()


def _serving(monkeypatch, tls: ssl.SSLContext | None = None) -> Iterator[HostileS3]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SECRETS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRETS[1])
    monkeypatch.setenv("AWS_SESSION_TOKEN", SECRETS[2])
    server = HostileS3(tls)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    server.ready.wait(10)
    yield server
    server.loop.call_soon_threadsafe(server.loop.stop)


@pytest.fixture
def hostile_s3(monkeypatch) -> Iterator[HostileS3]:
    yield from _serving(monkeypatch)


@pytest.fixture
def private_ca(tmp_path) -> tuple[ssl.SSLContext, str]:
    """A server context for 127.0.0.1 from a CA no trust store holds, and the CA's PEM."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return context, str(tmp_path / "ca.pem")


def _settings(server: HostileS3) -> OriginSettings:
    signer._signer.cache_clear()  # the chain as this test set it
    s3._make_client.cache_clear()
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


@pytest.mark.parametrize(("answer", "kind", "error", "boto3_asked"), [
    ("404 Not Found", "no_such_bucket", "bucket 'media' does not exist (404)", False),
    ("403 Forbidden", "access_denied", "access to bucket 'media' denied (403)", False),
    (None, "unreachable", "cannot reach the S3 endpoint (the server closed the connection "
     "without answering)", False),
    # a redirect to the bucket's region: boto3's to read (it follows, and fails here)
    ("301 Moved Permanently", "error", None, True),
])
def test_the_buckets_own_head_is_read_as_boto3_would(hostile_s3, answer, kind, error,
                                                     boto3_asked):
    hostile_s3.bucket = answer
    facts = asyncio.run(check_origin(_settings(hostile_s3), ["ok.png"], timeout_s=5.0))
    assert (facts.available, facts.error_kind) == (False, kind)
    if error is not None:
        assert facts.error == error
    agents = [agent for path, agent in hostile_s3.asked if path == "/media"]
    assert agents[0] == f"edgeprobe/{__version__}"
    assert any("Botocore" in a for a in agents) is boto3_asked
    assert not [p for p, _ in hostile_s3.asked if p != "/media"]  # no key asked after it


CANARY = "edgeprobe-canary/0123456789abcdef.png"


@pytest.mark.parametrize(("answer", "want", "boto3_asked"), [
    (("404 Not Found", _error("NoSuchKey")), (404, "NoSuchKey", None), False),
    (("403 Forbidden", _error("AccessDenied")), (403, "AccessDenied", None), False),
    (("200 OK", "x" * 200_000), (200, None, None), False),  # read no further than its status
    (("404 Not Found", "<html>not the store</html>"), (404, "", None), True),
    (("500 Internal Server Error", _error("InternalError")), (500, "InternalError", None),
     True),
    ((None, ""), (None, None, "cannot reach the S3 endpoint (the server closed the connection "
                  "without answering)"), False),
])
def test_the_canary_reference_is_read_as_boto3_would(hostile_s3, answer, want, boto3_asked):
    hostile_s3.gets[CANARY] = answer
    settings = _settings(hostile_s3)
    got = asyncio.run(reference(settings, (SampleObject(f"/{CANARY}", CANARY, "canary"),),
                                timeout_s=5.0))
    assert got is not None and (got.status_code, got.code, got.error) == want
    agents = [agent for path, agent in hostile_s3.asked if path == f"/media/{CANARY}"]
    assert agents[0] == f"edgeprobe/{__version__}"
    assert any("Botocore" in a for a in agents) is boto3_asked


@pytest.mark.parametrize("bundle", [True, False])
def test_aws_ca_bundle_is_trusted_by_libcurl_as_by_boto3(monkeypatch, private_ca, bundle):
    """A bucket behind a private CA named by AWS_CA_BUNDLE (botocore's variable) is asked by
    libcurl alone; without it, libcurl's TLS failure is left to boto3, which fails too."""
    context, ca_file = private_ca
    if bundle:
        monkeypatch.setenv("AWS_CA_BUNDLE", ca_file)
    else:
        monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    server = _serving(monkeypatch, context)
    hostile = next(server)
    settings = replace(_settings(hostile), endpoint_url=f"https://127.0.0.1:{hostile.port}")
    facts = asyncio.run(check_origin(settings, ["ok.png"], timeout_s=5.0))
    next(server, None)
    agents = {agent for _, agent in hostile.asked}
    if bundle:
        assert facts.available is True and facts.objects["ok.png"].exists is True
        assert agents == {f"edgeprobe/{__version__}"}
    else:
        assert (facts.available, facts.error_kind) == (False, "unreachable")
        assert facts.error == "cannot reach the S3 endpoint (SSLError)"
