"""A throwaway S3 server for tests: moto's, in this process on a free loopback port, with dummy
credentials. Each test gets its own bucket, so tests never see each other's objects."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

REQUIRE_ENV = "STYLESCOUT_REQUIRE_S3"
KEY, SECRET, REGION = "testing-key", "testing-secret", "us-east-1"


def missing() -> str | None:
    """Why S3 tests cannot run here, or None when they can."""
    for module, package in (("s3fs", "s3fs"), ("moto.server", "moto[server]")):
        try:
            __import__(module)
        except ImportError:
            return f"{package} is not installed (make setup-scale)"
    return None


def environment(endpoint: str) -> dict[str, str]:
    """What a process needs to reach the test server: dummy credentials, the endpoint, and no
    shared AWS files, instance metadata or proxies (nothing beyond loopback)."""
    return {
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
    }


@dataclass(frozen=True)
class Bucket:
    """A fresh bucket on the test server; `url` is an image folder in it."""

    name: str
    endpoint: str

    @property
    def url(self) -> str:
        return f"s3://{self.name}/images"

    def fs(self) -> Any:
        """An s3fs client of its own (not the store's), to look at or tamper with objects."""
        import s3fs

        return s3fs.S3FileSystem(
            key=KEY,
            secret=SECRET,
            endpoint_url=self.endpoint,
            skip_instance_cache=True,
            use_listings_cache=False,
        )


class Server:
    """A running server; `bucket()` makes a fresh, empty bucket."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def bucket(self) -> Bucket:
        bucket = Bucket(f"t-{uuid.uuid4().hex[:16]}", self.endpoint)
        bucket.fs().mkdir(bucket.name)
        return bucket


@contextmanager
def running_server() -> Iterator[Server]:
    """Start moto's S3 server on 127.0.0.1 (a free port) and stop it after."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield Server(f"http://{host}:{port}")
    finally:
        server.stop()
