"""moto's S3 server, seeded with the lab's objects (public-read, Mastodon's Cache-Control)."""

from __future__ import annotations

import logging
import os
from typing import Any

from edgeprobe.lab.content import LabObject, body_of
from edgeprobe.mastodon import MASTODON_CACHE_CONTROL

BUCKET = "lab-media"
REGION = "us-east-1"
MULTIPART_PART_SIZE = 256 * 1024


def _s3_only_server(requests: list[tuple[str, str]]) -> Any:
    """moto's threaded server answering as S3 only. moto picks the service of an unsigned
    request from its path, and reads a virtual-hosted key such as
    ``/media_attachments/files/…`` (the bucket in the Host header, as Mastodon's nginx proxy
    sends it) as service "media", region "attachments", and fails; the lab serves S3 alone.
    Every request's method and path is appended to ``requests`` (what tests count)."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    class S3Only(DomainDispatcherApplication):
        def get_application(self, environ: dict[str, Any]) -> Any:
            requests.append((environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")))
            with self.lock:
                if "s3" not in self.app_instances:
                    self.app_instances["s3"] = self.create_app("s3")
                return self.app_instances["s3"]

    class Server(ThreadedMotoServer):
        def _server_entry(self) -> None:
            from werkzeug.serving import make_server

            self._server = make_server(self._ip_address, self._port,
                                       S3Only(create_backend_app), True,
                                       request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server(ip_address="127.0.0.1", port=0, verbose=False)


class LabS3:
    """A moto server in a thread, and an admin client that may write to it."""

    def __init__(self) -> None:
        # moto reads this once, at import; small parts keep the multipart object small
        os.environ.setdefault("S3_UPLOAD_PART_MIN_SIZE", str(MULTIPART_PART_SIZE))
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.server = _s3_only_server(self.requests)
        self.endpoint = ""
        self.client: Any = None
        self.bodies: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}

    def start(self) -> None:
        import boto3

        self.server.start()
        server = self.server._server  # moto has no getter for the port it bound
        assert server is not None
        self.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        # the lab's own admin credentials: fake, and only ever sent to this loopback moto
        self.client = boto3.session.Session(
            aws_access_key_id="lab-admin", aws_secret_access_key="lab-admin-secret",  # noqa: S106
            region_name=REGION).client("s3", endpoint_url=self.endpoint)
        self.client.create_bucket(Bucket=BUCKET, ACL="public-read")

    def stop(self) -> None:
        self.server.stop()

    def put(self, obj: LabObject) -> None:
        body = self.bodies.get(obj.key) or body_of(obj)
        self.bodies[obj.key] = body
        extra = {"ContentType": obj.content_type, "CacheControl": MASTODON_CACHE_CONTROL,
                 "ACL": "public-read"}
        if not obj.multipart:
            self.etags[obj.key] = self.client.put_object(Bucket=BUCKET, Key=obj.key, Body=body,
                                                         **extra)["ETag"]
            return
        from moto import settings as moto_settings

        part_size = max(moto_settings.S3_UPLOAD_PART_MIN_SIZE, MULTIPART_PART_SIZE)
        upload = self.client.create_multipart_upload(Bucket=BUCKET, Key=obj.key, **extra)
        parts = []
        for number, start in enumerate(range(0, len(body), part_size), start=1):
            part = self.client.upload_part(Bucket=BUCKET, Key=obj.key, PartNumber=number,
                                           UploadId=upload["UploadId"],
                                           Body=body[start:start + part_size])
            parts.append({"PartNumber": number, "ETag": part["ETag"]})
        done = self.client.complete_multipart_upload(
            Bucket=BUCKET, Key=obj.key, UploadId=upload["UploadId"],
            MultipartUpload={"Parts": parts})
        self.etags[obj.key] = done["ETag"]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=BUCKET, Key=key)
