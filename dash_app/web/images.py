"""Image routes: files addressed by their sha256 only (no paths in URLs), cached thumbnails.

Files come from the store's image folder, a local one or an fsspec URL (`store.images_url`)."""

from __future__ import annotations

import io

import diskcache
import flask
from PIL import Image

from clustering.images import load_rgb
from dash_app.web.context import get_context
from dash_app.web.inputs import is_sha256
from store.files import RemoteFile

THUMB_WIDTHS = (160, 320)
MIMETYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
}
_LONG_CACHE = "public, max-age=31536000, immutable"  # a hash never names other bytes


def garment_url(sha256: str) -> str:
    """The dashboard's URL of what the garment blocks see in an image (its mask)."""
    return f"/garment/{sha256}"


def image_url(sha256: str, width: int | None = None) -> str:
    """The dashboard's URL of an image (a thumbnail when `width` is given)."""
    return f"/thumb/{width}/{sha256}" if width else f"/image/{sha256}"


def _file_or_404(sha: str) -> tuple:
    if not is_sha256(sha):  # upper case, paths, long junk: never reach the disk
        flask.abort(404)
    found = get_context().store.images.file_for_sha(sha)
    if found is None or not found[0].is_file():
        flask.abort(404)
    return found


def register_image_routes(server: flask.Flask, cache: diskcache.Cache) -> None:
    """Add /image/<sha256>, /thumb/<width>/<sha256> and /garment/<sha256> to the server."""

    @server.get("/image/<sha>")
    def image(sha: str) -> flask.Response:
        path, fmt = _file_or_404(sha)
        mimetype = MIMETYPES.get(fmt, "application/octet-stream")
        if isinstance(path, RemoteFile):  # no local file to stat: the hash is the ETag
            response = flask.send_file(path.open("rb"), mimetype=mimetype, etag=sha)
        else:
            response = flask.send_file(path, mimetype=mimetype)
        response.headers["Cache-Control"] = _LONG_CACHE
        return response

    @server.get("/garment/<sha>")
    def garment(sha: str) -> flask.Response:
        """The image with its garment mask shown (clustering.garment.mask_preview), cached."""
        from clustering.garment import mask_preview

        path, _ = _file_or_404(sha)
        grabcut = get_context().config.features.garment.grabcut
        key = f"{sha}:garment:{int(grabcut)}"
        body = cache.get(key)
        if body is None:
            out = io.BytesIO()
            mask_preview(load_rgb(path), grabcut).save(out, "JPEG", quality=85)
            body = out.getvalue()
            cache.set(key, body)
        response = flask.Response(body, mimetype="image/jpeg")
        response.headers["Cache-Control"] = "public, max-age=86400"  # settings may change it
        return response

    @server.get("/thumb/<int:width>/<sha>")
    def thumbnail(width: int, sha: str) -> flask.Response:
        if width not in THUMB_WIDTHS:
            flask.abort(404)
        path, _ = _file_or_404(sha)
        key = f"{sha}:{width}"
        body = cache.get(key)
        if body is None:
            img = load_rgb(path)
            img.thumbnail((width, width * 2), Image.LANCZOS)
            out = io.BytesIO()
            img.save(out, "JPEG", quality=85)
            body = out.getvalue()
            cache.set(key, body)
        response = flask.Response(body, mimetype="image/jpeg")
        response.headers["Cache-Control"] = _LONG_CACHE
        return response
