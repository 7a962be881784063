"""Flickr's public tag feed and its REST search."""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from typing import Any

from flask import Flask, Request, Response, request

from sandbox.replicas.common import (
    HOST,
    Asset,
    Builder,
    Draft,
    Entry,
    ReplicaOptions,
    Service,
    digest_of,
    entries_by_tag,
    install,
    json_answer,
    request_host,
    scaled,
    seed_of,
    shape,
)

# ---------------------------------------------------------------------------------------------
# Flickr

# Flickr's size suffixes: (suffix, long side); extras url_X map to them.
_FLICKR_SIZES = {
    "_s": 75,
    "_q": 150,
    "_t": 100,
    "_m": 240,
    "_n": 320,
    "": 500,
    "_z": 640,
    "_c": 800,
    "_b": 1024,
}
_FLICKR_EXTRAS_URL = {
    "url_sq": "_s",
    "url_q": "_q",
    "url_t": "_t",
    "url_s": "_m",
    "url_n": "_n",
    "url_m": "",
    "url_z": "_z",
    "url_c": "_c",
    "url_l": "_b",
}
_FLICKR_KEY_CHARS = set("0123456789abcdef")
# flickr.photos.licenses.getInfo's ids (0 all rights reserved, 1-6 and 11-16 CC 2.0 and 4.0,
# 7 no known copyright restrictions, 8 US Government work, 9 CC0, 10 Public Domain Mark);
# all rights reserved, Flickr's default, weighs more, as on the real site
_FLICKR_LICENSES = ("0", "0", "0", *(str(n) for n in range(1, 17)))


class _FlickrBuilder(Builder):
    """Flickr photos: the public feed's item and the REST API's photo, one photo per post."""

    service = "flickr"

    def __call__(self, d: Draft) -> Entry:
        photo_id = str(50_000_000_000 + int(d.created_at.timestamp()))  # grows with time
        secret = digest_of("secret", d.tag, d.index, n=10)
        owner = f"{100_000_000 + seed_of('owner', d.user) % 99_999_999}@N0{seed_of(d.user) % 8 + 1}"
        size = shape(d.rng, 1024)
        seed = seed_of("flickr", d.tag, d.index)
        paths = {}
        for suffix, side in _FLICKR_SIZES.items():
            w, h = (side, side) if suffix in ("_s", "_q") else scaled(size, side)
            path = f"/65535/{photo_id}_{secret}{suffix}.jpg"
            self.assets[path] = Asset("jpeg", d.index, seed, w, h)
            paths[suffix] = (path, w, h)
        title = f"{d.display_name.split()[0]}'s {d.caption.split(' & ')[0].lower()}"
        taken = d.created_at - dt.timedelta(hours=5)
        data = {
            "photo_id": photo_id,
            "secret": secret,
            "owner": owner,
            "ownername": d.display_name,
            "pathalias": d.user.replace("_", ""),
            "title": title,
            "description": d.text,
            "uploaded": d.created_at,
            "taken": taken,
            "tags": " ".join(d.tags),
            "views": d.rng.randint(50, 9000),
            "faves": d.likes,
            "comments": d.replies,
            "paths": paths,
            "license": _FLICKR_LICENSES[seed_of("license", d.tag, d.index) % len(_FLICKR_LICENSES)],
        }
        post = self.post(
            d,
            key=photo_id,
            url=f"/photos/{owner}/{photo_id}/",
            kind="photo",
            images=(paths["_b"][0],),
        )
        return Entry(post, data)


def _feed_item(p: dict[str, Any]) -> dict[str, Any]:
    small, w, h = p["paths"]["_m"]
    link = f"{HOST}/photos/{p['owner']}/{p['photo_id']}/"
    title = html.escape(p["title"], quote=False)
    description = (
        f' <p><a href="{HOST}/people/{p["owner"]}/">{html.escape(p["ownername"])}</a> posted a '
        f'photo:</p> <p><a href="{link}" title="{title}"><img src="{HOST}{small}" width="{w}" '
        f'height="{h}" alt="{title}" /></a></p> <p>{html.escape(p["description"], quote=False)}</p>'
    )
    return {
        "title": p["title"],
        "link": link,
        "media": {"m": HOST + small},
        "date_taken": p["taken"]
        .astimezone(dt.timezone(dt.timedelta(hours=-8)))
        .replace(microsecond=0)
        .isoformat(),
        "description": description,
        "published": p["uploaded"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "author": f'nobody@flickr.com ("{p["ownername"]}")',
        "author_id": p["owner"],
        "tags": p["tags"],
    }


def _rest_photo(p: dict[str, Any], extras: set[str]) -> dict[str, Any]:
    photo: dict[str, Any] = {
        "id": p["photo_id"],
        "owner": p["owner"],
        "secret": p["secret"],
        "server": "65535",
        "farm": 66,
        "title": p["title"],
        "ispublic": 1,
        "isfriend": 0,
        "isfamily": 0,
    }
    simple = {
        "license": ("license", p["license"]),
        "date_upload": ("dateupload", str(int(p["uploaded"].timestamp()))),
        "owner_name": ("ownername", p["ownername"]),
        "tags": ("tags", p["tags"]),
        "views": ("views", str(p["views"])),
        "path_alias": ("pathalias", p["pathalias"]),
        "count_faves": ("count_faves", str(p["faves"])),
        "count_comments": ("count_comments", str(p["comments"])),
    }
    for extra in extras:
        if extra in simple:
            key, value = simple[extra]
            photo[key] = value
        elif extra == "description":
            photo["description"] = {"_content": p["description"]}
        elif extra == "date_taken":
            photo["datetaken"] = p["taken"].strftime("%Y-%m-%d %H:%M:%S")
            photo["datetakengranularity"] = 0
            photo["datetakenunknown"] = "0"
        elif extra == "media":
            photo |= {"media": "photo", "media_status": "ready"}
        elif extra in _FLICKR_EXTRAS_URL:
            path, w, h = p["paths"][_FLICKR_EXTRAS_URL[extra]]
            letter = extra[4:]
            photo |= {extra: HOST + path, f"height_{letter}": h, f"width_{letter}": w}
    return photo


def _flickr_escape(body: str) -> str:
    """What Flickr's feed does to JSON text: `\\/` for slashes and `\\'` for apostrophes (the
    second is not valid JSON; strict parsers refuse the feed)."""
    return body.replace("/", "\\/").replace("'", "\\'")


def create_flickr_app(opts: ReplicaOptions | None = None) -> Flask:
    """Flickr's public tag feed and REST photo search, with photos at Flickr's size suffixes.

    `GET /services/feeds/photos_public.gne?tags=boho&format=json[&nojsoncallback=1]` answers
    the 20 newest, no paging, wrapped `jsonFlickrFeed(...)` without nojsoncallback, with `\\'`
    inside strings either way; no `format` is Atom. `GET /services/rest/?method=
    flickr.photos.search&api_key=..&tags=..&extras=..&page=N&per_page=M&format=json
    &nojsoncallback=1` answers {"photos": {page, pages, perpage, total, photo: [...]}, "stat":
    "ok"}; extras as Flickr names them in the answer (date_upload -> dateupload, owner_name ->
    ownername, url_l -> url_l/width_l/height_l at the `_b` 1024 size, count_faves, license: the
    number flickr.photos.licenses.getInfo gives the photo's licence); a missing
    or malformed key is HTTP 200 {"stat": "fail", "code": 100, "message": "Invalid API Key (Key
    has invalid format)"}, an unknown well-formed one "(Key not found)". Photo files are
    `/65535/<id>_<secret><suffix>.jpg` (`_m` 240 px ... `_b` 1024 px). `images_per_post` does
    not apply (one photo per post). The 429 (Retry-After, HTML) is a guess: Flickr documents none.
    """
    opts = opts or ReplicaOptions()
    app = Flask(__name__)
    assets: dict[str, Asset] = {}
    entries = entries_by_tag(opts, _FlickrBuilder(opts, assets))
    feed_path, rest_path = "/services/feeds/photos_public.gne", "/services/rest/"

    def key_state(key: str | None) -> str:
        if not key or len(key) != 32 or not set(key) <= _FLICKR_KEY_CHARS:
            return "malformed"
        return "ok" if opts.token is None or key == opts.token else "unknown"

    def credential(req: Request) -> tuple[bool, bool]:
        key = req.args.get("api_key")
        return bool(key), key_state(key) == "ok"

    def rest_answer(obj: dict[str, Any]) -> Response:
        if request.args.get("nojsoncallback") == "1":
            return json_answer(obj)
        body = json.dumps(obj, separators=(",", ":")).replace(HOST, request_host())
        return Response(f"jsonFlickrApi({body})", mimetype="text/javascript")

    def authorize(req: Request, present: bool, correct: bool) -> Response | None:
        if req.path != rest_path or correct:
            return None
        why = (
            "Key not found"
            if key_state(req.args.get("api_key")) == "unknown"
            else "Key has invalid format"
        )
        return rest_answer({"stat": "fail", "code": 100, "message": f"Invalid API Key ({why})"})

    def rate_limited(wait_s: float) -> Response:
        page = "<html><body><h1>Too Many Requests</h1></body></html>"
        headers = {"Retry-After": str(math.ceil(wait_s))}
        return Response(page, status=429, mimetype="text/html", headers=headers)

    state = install(
        app,
        opts,
        Service(
            is_api=lambda req: req.path in (feed_path, rest_path),
            credential=credential,
            rate_limited=rate_limited,
            authorize=authorize,
        ),
        assets,
        entries,
    )

    def tagged(raw: str, mode: str) -> list[Entry]:
        tags = [t.strip().lower() for t in raw.split(",") if t.strip()]
        if not tags or (mode == "all" and len(set(tags)) > 1):
            return []
        found = [e for t in dict.fromkeys(tags) for e in entries.get(t, [])]
        return sorted(found, key=lambda e: e.data["uploaded"], reverse=True)

    @app.get(feed_path)
    def public_feed() -> Response:
        raw = request.args.get("tags", "")
        items = state.page(f"feed:{raw}", tagged(raw, request.args.get("tagmode", "all")), 0, 20)
        if request.args.get("format") != "json":
            return Response(
                _atom(raw, items).replace(HOST, request_host()), mimetype="application/atom+xml"
            )
        feed = {
            "title": f"Recent Uploads tagged {raw}",
            "link": f"{HOST}/photos/tags/{raw}/",
            "description": "",
            "modified": items[0].data["uploaded"].strftime("%Y-%m-%dT%H:%M:%SZ") if items else "",
            "generator": "https://www.flickr.com",
            "items": [_feed_item(e.data) for e in items],
        }
        body = _flickr_escape(
            json.dumps(feed, indent="\t", ensure_ascii=False).replace(HOST, request_host())
        )
        if request.args.get("nojsoncallback") == "1":
            return Response(body, mimetype="application/json")
        return Response(f"jsonFlickrFeed({body})", mimetype="application/javascript")

    @app.get(rest_path)
    def rest() -> Response:
        method = request.args.get("method", "")
        if method != "flickr.photos.search":
            return rest_answer(
                {"stat": "fail", "code": 112, "message": f'Method "{method}" not found'}
            )
        found = tagged(request.args.get("tags", ""), request.args.get("tag_mode", "any"))
        try:
            per_page = min(max(int(request.args.get("per_page", 100)), 1), 500)
            number = max(int(request.args.get("page", 1)), 1)
        except ValueError:
            per_page, number = 100, 1
        start = (number - 1) * per_page
        listing = f"rest:{request.args.get('tags', '')}"
        page = state.page(listing, found, start, start + per_page)
        extras = {x.strip() for x in request.args.get("extras", "").split(",") if x.strip()}
        total = len(found) if page or start else 0
        photos = {
            "page": number,
            "pages": math.ceil(total / per_page),
            "perpage": per_page,
            "total": total,
            "photo": [_rest_photo(e.data, extras) for e in page],
        }
        return rest_answer({"photos": photos, "stat": "ok"})

    return app


def _atom(tag: str, items: list[Entry]) -> str:
    entries = "".join(
        f"<entry><title>{html.escape(e.data['title'])}</title>"
        f'<link rel="alternate" type="text/html" href="{HOST}{e.post.url}"/>'
        f'<link rel="enclosure" type="image/jpeg" href="{HOST}{e.post.images[0]}"/></entry>'
        for e in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8" standalone="yes"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Recent Uploads tagged {html.escape(tag)}</title>{entries}</feed>"
    )
