"""Fixtures shared by every test: the loopback-only network guard, stores and images."""

from __future__ import annotations

import importlib.abc
import io
import ipaddress
import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from argon2 import PasswordHasher
from PIL import Image

from sandbox.demo_feed.render_cache import ENV as RENDER_CACHE_ENV
from store import ImageMeta, Store
from store.repositories import accounts as accounts_module
from stylescout.loader import parse_config
from stylescout.settings import Config

if TYPE_CHECKING:
    from tests.s3 import Bucket as S3Bucket
    from tests.s3 import Server as S3Server

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class _NoModels(importlib.abc.MetaPathFinder):
    """The fast tier (`make test-fast`) runs no model: importing TensorFlow or Keras there fails
    the test at once, naming the marker it lacks, instead of quietly making the tier slow."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in ("tensorflow", "keras"):
            raise ImportError(f"{name} imported in the fast tier: mark the test @pytest.mark.model")


if os.environ.get("STYLESCOUT_TEST_FAST") == "1":
    sys.meta_path.insert(0, _NoModels())


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


# The longest tests (minutes each) start first, one per worker, and the short ones fill in
# around them; started last, one of them alone would set the run's length.
FIRST = (
    "tests/integration/test_crash_safety.py",
    "tests/integration/test_tag_trends.py",
    "tests/integration/test_ray_extraction.py",
    "tests/integration/test_concurrent_ratings.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return FIRST.index(path) if path in FIRST else len(FIRST)

    items.sort(key=rank)  # stable: the rest keep their order


@pytest.fixture(scope="session", autouse=True)
def demo_renders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of drawn demo pictures for the whole run, shared by every worker and every
    command line a test starts (they inherit the variable): each picture is drawn once per run,
    never read from the user's own cache, and removed with the run's temp folders."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "demo-renders"
    os.environ[RENDER_CACHE_ENV] = str(folder)
    return folder


@pytest.fixture(scope="session", autouse=True)
def converted_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One user cache folder for the run (OpenVINO's converted models live there): each model is
    converted once per run and shared by every worker, never read from the user's own cache."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "user-cache"
    os.environ["XDG_CACHE_HOME"] = str(folder)
    return folder


PRODUCTION_HASHER = accounts_module._HASHER


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its lowest cost in this process: at the production cost a hash takes 0.15 s
    and 64 MiB, and the suite makes hundreds (30 s of CPU in the fast tier alone). What a hash
    costs is argon2's business; the tests check the flow, and test_accounts checks that the
    product hashes at the production cost. Command lines the tests start keep that cost."""
    monkeypatch.setattr(
        accounts_module, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


class NetworkGuardError(AssertionError):
    """A test tried to reach beyond this machine."""


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection or name lookup that is not loopback (Unix sockets are fine)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if not _is_loopback(host):
                raise NetworkGuardError(f"test tried to connect to {address!r}: loopback only")

    def connect(sock: socket.socket, address: object) -> None:
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: object) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        if host is not None and not _is_loopback(
            host if isinstance(host, str) else host.decode() if isinstance(host, bytes) else host
        ):
            raise NetworkGuardError(f"test tried to resolve {host!r}: loopback only")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh, empty data folder."""
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    """A fresh store in a temporary data folder."""
    with Store(data_dir) as opened:
        yield opened


SAMPLE_ENV = "STYLESCOUT_SAMPLE_DIR"


def fashion_sample() -> Path:
    """The fashion-small-dev sample (real product photos with labels), never copied into the
    repository: `$STYLESCOUT_SAMPLE_DIR`, else `shared/data/fashion-small-dev` beside the
    checkout. Tests that read it skip when it is not there."""
    given = os.environ.get(SAMPLE_ENV)
    if given:
        return Path(given)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-small-dev"


FASHION = fashion_sample()


def jpeg_bytes(seed: int, size: tuple[int, int] = (64, 80), quality: int = 90) -> bytes:
    """A small, distinct JPEG for a seed."""
    img = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    for i in range(8):  # the seed's nibbles as grey blocks along the top edge keep images distinct
        level = ((seed >> (4 * i)) & 15) * 17
        for dx in range(8):
            for dy in range(8):
                img.putpixel((i * 8 + dx, dy), (level, level, level))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def image_bytes(img: Image.Image, fmt: str, **options: object) -> bytes:
    """An image encoded in memory (options go to Pillow's save)."""
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def meta_for(seed: int, **extra: object) -> ImageMeta:
    """Plausible metadata for `jpeg_bytes(seed)`."""
    fields = dict(
        width=64,
        height=80,
        format="JPEG",
        source="test",
        post_url=f"http://127.0.0.1/p/{seed}",
        caption=f"post {seed} #boho",
    )
    fields.update(extra)
    return ImageMeta(**fields)  # type: ignore[arg-type]


@pytest.fixture
def make_jpeg() -> Callable[..., bytes]:
    return jpeg_bytes


def assert_same_vector(
    actual: np.ndarray, expected: np.ndarray, min_cosine: float = 0.9999, rtol: float = 0.01
) -> None:
    """Two feature vectors are the same up to float round-off that depends on the CPU.

    oneDNN picks other kernels per CPU and batch size, so TensorFlow and BLAS results differ in
    the last digits between machines (1.3e-4 per element was seen on an AVX-512/AMX Xeon): compare
    direction (cosine) and size of the difference relative to the vector, never exact digits."""
    a = np.asarray(actual, np.float64).ravel()
    b = np.asarray(expected, np.float64).ravel()
    cosine = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
    relative = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))
    assert cosine >= min_cosine, f"cosine {cosine:.6f} < {min_cosine}"
    assert relative <= rtol, f"relative difference {relative:.2e} > {rtol}"


def make_config(data_dir: Path, **sections: object) -> Config:
    """A config for tests: defaults plus the given top-level sections (e.g. sources=...), with
    the demo feed's sources added as the demo commands add them."""
    from sandbox.demo_feed.sources import with_demo_sources

    config = parse_config({"data_dir": str(data_dir), **sections}, "test config", data_dir.parent)
    return with_demo_sources(config)


def require_service(why: str | None, require_env: str) -> None:
    """Skip a test whose service cannot run here (`why`), or fail it where the environment
    variable says the service must run (CI)."""
    if why:
        if os.environ.get(require_env) == "1":
            pytest.fail(f"{require_env}=1 but {why}")
        pytest.skip(why)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[object]:
    """One throwaway PostgreSQL cluster for the whole run (started on first use)."""
    from tests import postgres

    require_service(postgres.missing(), postgres.REQUIRE_ENV)
    with postgres.running_cluster() as cluster:
        yield cluster


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A throwaway Redis on a free loopback port (skips, or fails where required, without it)."""
    from tests import services

    require_service(services.missing_redis(), services.REQUIRE_ENV)
    with services.redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto S3 server on loopback for the whole run (started on first use)."""
    from tests import s3

    require_service(s3.missing(), s3.REQUIRE_ENV)
    with s3.running_server() as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A fresh bucket on the test S3 server, with this process's (and its children's) AWS
    variables pointing at the server: `bucket.url` is an image folder for `store.images_url`."""
    from tests import s3

    for name, value in s3.environment(s3_server.endpoint).items():
        monkeypatch.setenv(name, value)
    return s3_server.bucket()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The store's database on each back end: None (SQLite in the data folder), then a fresh
    PostgreSQL database. Tests of the store itself take this; the rest run on SQLite."""
    if request.param == "sqlite":
        yield None
        return
    cluster = request.getfixturevalue("postgres_cluster")
    url = cluster.database()
    try:
        yield url
    finally:
        cluster.drop(url)


@pytest.fixture
def any_store(data_dir: Path, store_url: str | None) -> Iterator[Store]:
    """A fresh store on each back end in turn."""
    with Store(data_dir, url=store_url) as opened:
        yield opened


def run_sql(store: Store, statement: str, params: tuple = ()) -> None:
    """One write statement in its own transaction (tests that fake what a crash leaves)."""
    with store.db.transaction() as tx:
        tx.execute(statement, params)
