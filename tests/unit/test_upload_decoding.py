"""Decoding uploaded photos: slots are waited for briefly (never holding a server thread), a
repeat is not decoded again, a large photo is decoded into a small working image, and a list
over the entry cap is refused with the right number."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dash import Dash
from PIL import Image

from dash_app import create_app
from dash_app.app import close_app
from dash_app.web import inputs, uploads
from dash_app.web.context import get_context
from dash_app.web.inputs import BadInput
from tests.conftest import image_bytes, jpeg_bytes, make_config

ROOT = Path(__file__).resolve().parents[2]
USER = "u" + "ef" * 16
MB = 1_000_000


def _data_url(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def big_png(width: int = 7200, height: int = 5400) -> bytes:
    """An RGB PNG of width x height (39 megapixels by default) that compresses to a few hundred
    KB, written row by row so making it costs the test no full-size image."""
    row = b"\x00" + bytes(range(256)) * (width * 3 // 256) + b"\x80" * (width * 3 % 256)
    packer = zlib.compressobj(6)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


@pytest.fixture
def one_slot(data_dir: Path) -> Iterator[Dash]:
    """A dashboard that decodes one photo at a time, inside a request."""
    app = create_app(make_config(data_dir, dashboard={"max_concurrent_decodes": 1}))
    try:
        with app.server.test_request_context("/"):
            yield app
    finally:
        close_app(app)


@contextmanager
def _slot_taken_by_another_thread(slots: threading.BoundedSemaphore) -> Iterator[None]:
    """Another request's decode holds a slot until the block ends."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with slots:
            taken.set()
            done.wait(60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert taken.wait(5)
    try:
        yield
    finally:
        done.set()
        holder.join(10)


def _timed_in_request(
    app: Dash, call: Callable[[], object], limit_s: float
) -> tuple[object, float]:
    """`call()` in a thread of its own (as the server runs it), with its time; fails when it is
    still waiting after `limit_s` (it is then let go when the slot is released)."""
    out: list[object] = []

    def run() -> None:
        with app.server.test_request_context("/"):
            out.append(call())

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit_s)
    took = time.monotonic() - started
    assert not worker.is_alive(), f"still waiting for a decode slot after {limit_s:.0f} s"
    return out[0], took


# -- 1. decode slots ----------------------------------------------------------------------


def test_a_drop_gets_a_busy_message_when_no_decode_slot_comes_free(one_slot: Dash) -> None:
    from dash_app.pages import discover

    ctx = get_context()
    drop = [_data_url(jpeg_bytes(7)), _data_url(jpeg_bytes(8))]
    with _slot_taken_by_another_thread(ctx.decode_slots):
        (photos, messages), took = _timed_in_request(
            one_slot, lambda: discover.change_photos("upload", drop, ["a.jpg", "b.jpg"], []), 8
        )
    assert took < 3.5, took  # about a second for the first photo; the second is not waited for
    text = str(messages)
    assert photos == []
    assert "a.jpg" in text and "b.jpg" in text and "busy" in text and "try again" in text
    # the slot is free again: the same drop is taken
    photos, messages = discover.change_photos("upload", drop, ["a.jpg", "b.jpg"], [])
    assert len(photos) == 2 and messages == []


def test_recommendations_get_a_busy_message_when_no_decode_slot_comes_free(
    one_slot: Dash,
) -> None:
    from dash_app.pages import discover

    ctx = get_context()
    photos, _ = discover.change_photos("upload", [_data_url(jpeg_bytes(9))], ["me.jpg"], [])
    with _slot_taken_by_another_thread(ctx.decode_slots):
        shown, took = _timed_in_request(
            one_slot, lambda: discover.show_recommendations(photos, USER), 8
        )
        assert took < 2.5, took
        assert "busy" in str(shown) and "try again" in str(shown)
        # catalogue items alone are not decoded: they do not wait for a slot
        items = [{"kind": "item", "id": 1, "sha256": "a" * 64}]
        shown, took = _timed_in_request(
            one_slot, lambda: discover.show_recommendations(items, USER), 8
        )
        assert took < 0.5 and "busy" not in str(shown)


def test_identical_photos_are_decoded_once(one_slot: Dash, monkeypatch: pytest.MonkeyPatch) -> None:
    from dash_app.pages import discover

    calls: list[object] = []
    real = discover.accept_upload

    def counting(*args: object) -> object:
        calls.append(args[0])
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(discover, "accept_upload", counting)
    same = _data_url(jpeg_bytes(11, size=(300, 300)))
    photos, messages = discover.change_photos(
        "upload", [same] * 8, [f"c{n}.jpg" for n in range(8)], []
    )
    assert len(calls) == 1 and len(photos) == 1 and messages == []
    # a photo already chosen is not decoded again, in a later drop
    other = _data_url(jpeg_bytes(12))
    photos, _ = discover.change_photos(
        "upload", [same, other, other], ["c.jpg", "d.jpg", "e.jpg"], photos
    )
    assert len(calls) == 2 and [p["name"] for p in photos] == ["c0.jpg", "d.jpg"]


def test_a_chosen_upload_whose_file_is_gone_is_stored_again(one_slot: Dash) -> None:
    from dash_app.pages import discover

    same = _data_url(jpeg_bytes(13))
    photos, _ = discover.change_photos("upload", [same], ["f.jpg"], [])
    kept = uploads.upload_path(get_context().store.cache_dir / "uploads", photos[0]["sha256"])
    assert kept is not None
    kept.unlink()  # the cache was cleared
    again, _ = discover.change_photos("upload", [same], ["f.jpg"], photos)
    assert again == photos and kept.is_file()


# -- 2. memory of large decodes -----------------------------------------------------------

_MEASURE = """
import base64, json, sys, threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

def rss() -> int:  # resident MB, exact (VmRSS may lag behind)
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            return int(line.split()[1]) // 1024

def peak() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024

from dash_app.web.uploads import accept_upload
data = Path(sys.argv[1]).read_bytes()
url = "data:image/png;base64," + base64.b64encode(data).decode()
folder = Path(sys.argv[2])
start = rss()
upload = accept_upload(url, folder, 15_000_000, 40_000_000)
one = peak() - start
slots = threading.BoundedSemaphore(2)

def decode(_: int) -> None:
    with slots:
        accept_upload(url, folder, 15_000_000, 40_000_000)

with ThreadPoolExecutor(2) as pool:  # threads that live on, as the server's do
    list(pool.map(decode, range(6)))
    kept = rss() - start
print(json.dumps({"one": one, "six": peak() - start, "kept": kept,
                  "size": [upload.width, upload.height]}))
"""


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").is_file(), reason="needs Linux /proc")
def test_39_megapixel_pngs_are_decoded_within_a_memory_budget(tmp_path: Path) -> None:
    png = tmp_path / "big.png"
    png.write_bytes(big_png())
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(png), str(tmp_path / "uploads")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    mb = json.loads(done.stdout.strip().splitlines()[-1])
    assert mb["size"] == [7200, 5400]
    # Measured here (MB over the start): one decode 150; six, two at a time on two threads,
    # 300-310 at the peak and 103 kept after (230 kept without malloc_trim). Before: 447, 872
    # and 824 kept (the check and the preview each decoded at full size with RGB copies, and
    # glibc kept the pages its thread arenas freed).
    assert mb["one"] < 260, mb  # one full-size buffer (7200 x 5400 x 4 bytes = 156 MB)
    assert mb["six"] < 600, mb
    assert mb["kept"] < 300, mb


def test_a_large_photo_is_decoded_into_a_small_working_image() -> None:
    png = big_png(3000, 2000)
    shown = uploads.decode_photo(png, 15 * MB, 40 * MB)
    assert shown.format == "PNG" and (shown.width, shown.height) == (3000, 2000)
    assert max(shown.image.size) <= uploads.WORKING_SIDE * 2
    assert shown.image.mode == "RGB"
    jpeg = image_bytes(Image.new("RGB", (4000, 3000), "olive"), "JPEG")
    shown = uploads.decode_photo(jpeg, 15 * MB, 40 * MB)
    assert (shown.width, shown.height) == (4000, 3000)
    assert max(shown.image.size) <= uploads.WORKING_SIDE * 2


def test_a_truncated_large_jpeg_is_still_refused() -> None:
    jpeg = image_bytes(Image.effect_noise((3000, 2000), 60).convert("RGB"), "JPEG")
    with pytest.raises(uploads.UploadRejected, match="could not be read"):
        uploads.check_photo(jpeg[: len(jpeg) * 2 // 3], 15 * MB, 40 * MB)


# -- 3. the entry cap's message ------------------------------------------------------------


def test_a_list_over_the_entry_cap_is_refused_with_the_cap() -> None:
    entries = [{"kind": "item", "id": n, "sha256": "a" * 64} for n in range(1, 66)]
    with pytest.raises(BadInput) as refused:
        inputs.photos(entries, 8)
    message = str(refused.value)
    assert "65" in message and str(inputs.MAX_PHOTO_ENTRIES) in message, message
    assert "at most 8" not in message
    assert len(inputs.photos(entries[:64], 8)) == 8  # 64 entries are taken; the last 8 used
