"""The API replicas behave as the services they stand for (shapes, paging, errors, headers) and
their faults fire as described, so scraper tests built on them test the scraper, not the fake."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import itertools
import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import imagehash
import numpy as np
import pytest
import requests
from flask import Flask
from PIL import Image

from sandbox.replicas import (
    ReplicaOptions,
    create_bluesky_app,
    create_flickr_app,
    create_mastodon_app,
    create_pixelfed_app,
    create_tumblr_app,
    serving,
)
from scraper.image_check import inspect_image
from scraper.near_duplicates import same_photo, same_photos

TOKEN = "replica-token-0123"
FLICKR_KEY = "0123456789abcdef0123456789abcdef"
MAX_PIXELS = 50_000_000
Served = Callable[[Flask], str]


def get(url: str, **kwargs: object) -> requests.Response:
    return requests.get(url, timeout=10, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def served() -> Iterator[Callable[[Flask], str]]:
    """Serve any number of apps; each call gives a base URL. They all stop together at the end
    of the module (stopping one waits out the server's poll interval, so one at a time is slow)."""
    running: list[contextlib.AbstractContextManager[str]] = []

    def start(app: Flask) -> str:
        ctx = serving(app)
        running.append(ctx)
        return ctx.__enter__()

    yield start
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda ctx: ctx.__exit__(None, None, None), running))


def jpeg_size(body: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(body)) as img:
        assert img.format == "JPEG"
        return img.size


def mastodon_pages(url: str, **params: str) -> list[list[dict]]:
    """Follow Link rel=next to the end; the last (empty) page has no Link."""
    pages, next_url = [], f"{url}/api/v1/timelines/tag/boho"
    while True:
        r = get(next_url, params=params)
        params = {}
        assert r.status_code == 200
        pages.append(r.json())
        if not r.json():
            assert "Link" not in r.headers
            return pages
        next_url = r.links["next"]["url"]
        assert "prev" in r.links


# --------------------------------------------------------------------------- Mastodon


def test_mastodon_pages_by_link_header_newest_first(served: Served) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=45))
    url = served(app)
    assert url.startswith("http://127.0.0.1:")
    pages = mastodon_pages(url)
    assert [len(p) for p in pages] == [20, 20, 5, 0]
    statuses = [s for page in pages for s in page]
    ids = [s["id"] for s in statuses]
    assert all(isinstance(i, str) and i.isdigit() for i in ids)
    assert [int(i) for i in ids] == sorted((int(i) for i in ids), reverse=True)
    assert ids == [p.key for p in app.config["catalogue"]["boho"]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", statuses[0]["created_at"])
    clamped = get(f"{url}/api/v1/timelines/tag/boho", params={"limit": "100"})
    assert len(clamped.json()) == 40
    assert "limit=100" in clamped.links["next"]["url"]
    unknown = get(f"{url}/api/v1/timelines/tag/nosuchtag")
    assert unknown.status_code == 200 and unknown.json() == [] and "Link" not in unknown.headers


def test_mastodon_statuses_look_like_mastodon(served: Served) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=20))
    url = served(app)
    statuses = get(f"{url}/api/v1/timelines/tag/boho", params={"limit": "40"}).json()
    html_tag = f'<a href="{url}/tags/boho" class="mention hashtag" rel="tag">#<span>boho</span></a>'
    assert all(html_tag in s["content"] for s in statuses)
    assert any("&amp;" in s["content"] and "<br />" in s["content"] for s in statuses)
    kinds = {p.key: p.kind for p in app.config["catalogue"]["boho"]}
    types = {s["id"]: [m["type"] for m in s["media_attachments"]] for s in statuses}
    assert {kinds[i] for i, t in types.items() if t == ["video"]} == {"video"}
    assert {kinds[i] for i, t in types.items() if not t} == {"none"}
    assert any(t == ["image", "video"] for t in types.values())
    processing = [s for s in statuses if kinds[s["id"]] == "processing"]
    attachment = processing[0]["media_attachments"][0]
    assert attachment["url"] is None and attachment["remote_url"].startswith(url)
    assert jpeg_size(get(attachment["remote_url"]).content)
    photo = statuses[0]["media_attachments"][0]
    full = jpeg_size(get(photo["url"]).content)
    assert full == (photo["meta"]["original"]["width"], photo["meta"]["original"]["height"])
    assert jpeg_size(get(photo["preview_url"]).content)[0] < full[0]
    media_only = get(f"{url}/api/v1/timelines/tag/boho", params={"only_media": "true"}).json()
    assert media_only and all(s["media_attachments"] for s in media_only)
    assert (
        "only_media=true"
        in get(f"{url}/api/v1/timelines/tag/boho", params={"only_media": "true"}).links["next"][
            "url"
        ]
    )


def test_mastodon_min_id_and_since_id(served: Served) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=30))
    url = served(app)
    ids = [p.key for p in app.config["catalogue"]["boho"]]
    base = f"{url}/api/v1/timelines/tag/boho"
    just_newer = get(base, params={"min_id": ids[20], "limit": "5"}).json()
    assert [s["id"] for s in just_newer] == ids[15:20]
    newest = get(base, params={"since_id": ids[20], "limit": "5"}).json()
    assert [s["id"] for s in newest] == ids[0:5]


def test_mastodon_boosts_wrap_the_tagged_status(served: Served) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=20, boosts=True))
    statuses = get(f"{served(app)}/api/v1/timelines/tag/boho", params={"limit": "20"}).json()
    boosts = [s for s in statuses if s["reblog"]]
    assert boosts
    for boost in boosts:
        assert boost["content"] == "" and boost["media_attachments"] == []
        assert (
            boost["reblog"]["id"] != boost["id"]
            and "#<span>boho</span>" in boost["reblog"]["content"]
        )


def test_mastodon_token_errors_are_mastodons_and_no_secret_is_logged(served: Served) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=5, token=TOKEN, require_token=True))
    url = served(app)
    base = f"{url}/api/v1/timelines/tag/boho"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = get(base, headers=headers)
        assert r.status_code == 422
        assert r.json() == {"error": "This method requires an authenticated user"}
    assert get(base, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert get(base, params={"access_token": TOKEN}).status_code == 200
    wrong = get(f"{url}/api/v1/apps/verify_credentials", headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "The access token is invalid"}
    assert get(f"{url}/api/v1/instance").json()["version"].startswith("4.5")
    log = [r for r in app.config["requests"] if r["kind"] == "api"]
    assert [(r["auth_present"], r["auth_valid"]) for r in log] == [
        (False, False),
        (True, False),
        (True, True),
        (True, True),
    ]
    assert log[3]["args"] == {"access_token": "<redacted>"}
    assert TOKEN not in json.dumps(app.config["requests"])


def test_mastodon_503s_then_a_rack_attack_429(served: Served) -> None:
    opts = ReplicaOptions(posts=5, fail_first=2, rate_limit_at=3, rate_limit_wait_s=30)
    url = served(create_mastodon_app(opts))
    answers = [get(f"{url}/api/v1/timelines/tag/boho") for _ in range(4)]
    assert [r.status_code for r in answers] == [503, 503, 429, 200]
    limited = answers[2]
    assert limited.json() == {"error": "Too many requests"}
    assert limited.headers["X-RateLimit-Limit"] == "300"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in limited.headers
    reset = limited.headers["X-RateLimit-Reset"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", reset)
    wait = dt.datetime.fromisoformat(reset) - dt.datetime.now(dt.UTC)
    assert 25 < wait.total_seconds() <= 30


# --------------------------------------------------------------------------- Pixelfed


def test_pixelfed_without_a_token_redirects_to_login_or_500s_for_json(served: Served) -> None:
    url = served(create_pixelfed_app(ReplicaOptions(posts=5, token=TOKEN)))
    base = f"{url}/api/v1/timelines/tag/boho"
    redirect = get(base, allow_redirects=False)
    assert redirect.status_code == 302 and redirect.headers["Location"] == f"{url}/login"
    followed = get(base, headers={"Authorization": "Bearer wrong"})
    assert followed.status_code == 200 and "text/html" in followed.headers["Content-Type"]
    as_json = get(base, headers={"Accept": "application/json"})
    assert as_json.status_code == 500 and as_json.json() == {"error": "Unauthenticated."}
    ok = get(base, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and len(ok.json()) == 5 and "Link" not in ok.headers
    assert 'class="u-url hashtag"' in ok.json()[0]["content"]


def test_pixelfed_pages_by_max_id_and_goes_back_six_months_at_most(served: Served) -> None:
    opts = ReplicaOptions(posts=150, token=TOKEN, post_spacing_h=48)  # 300 days of posts
    app = create_pixelfed_app(opts)
    url = served(app)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    cutoff = dt.datetime(2026, 5, 15, 12, tzinfo=dt.UTC)
    seen, params = [], {"limit": "40"}
    while True:
        page = get(f"{url}/api/v1/timelines/tag/boho", params=params, headers=auth).json()
        if not page:
            break
        seen += page
        params = {"limit": "40", "max_id": page[-1]["id"]}
    times = [dt.datetime.fromisoformat(s["created_at"]) for s in seen]
    assert times == sorted(times, reverse=True) and len(set(s["id"] for s in seen)) == len(seen)
    assert 80 < len(seen) < 150  # stopped by the cutoff, not by the end
    assert dt.datetime.fromisoformat(seen[-1]["created_at"]) < cutoff  # the last page runs past it
    assert dt.datetime.fromisoformat(seen[-41]["created_at"]) >= cutoff


# --------------------------------------------------------------------------- Bluesky


def login(url: str, password: str = TOKEN) -> requests.Response:
    body = {"identifier": "scout.bsky.social", "password": password}
    return requests.post(f"{url}/xrpc/com.atproto.server.createSession", json=body, timeout=10)


def test_bluesky_login_then_search_pages_by_cursor(served: Served) -> None:
    app = create_bluesky_app(ReplicaOptions(posts=30, token=TOKEN))
    url = served(app)
    wrong = login(url, "nope")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": "AuthenticationRequired",
        "message": "Invalid identifier or password",
    }
    session = login(url).json()
    assert {"accessJwt", "refreshJwt", "handle", "did"} <= session.keys()
    search = f"{url}/xrpc/app.bsky.feed.searchPosts"
    anonymous = get(search, params={"q": "#boho"})
    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": "AuthMissing", "message": "Authentication Required"}
    forged = get(search, params={"q": "#boho"}, headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 400 and forged.json()["error"] == "InvalidToken"
    auth = {"Authorization": f"Bearer {session['accessJwt']}"}
    too_many = get(search, params={"q": "#boho", "limit": "101"}, headers=auth)
    assert too_many.status_code == 400
    assert too_many.json() == {
        "error": "InvalidRequest",
        "message": "Error: limit can not be greater than 100",
    }
    posts, params = [], {"q": "#boho", "sort": "latest", "limit": "12"}
    while True:
        body = get(search, params=params, headers=auth).json()
        posts += body["posts"]
        assert "hitsTotal" not in body
        if "cursor" not in body:
            break
        params["cursor"] = body["cursor"]
    assert [p["uri"] for p in posts] == [p.key for p in app.config["catalogue"]["boho"]]
    assert all(
        re.fullmatch(r"at://did:plc:[a-z2-7]{24}/app\.bsky\.feed\.post/\w{13}", p["uri"])
        for p in posts
    )
    embeds = {p.get("embed", {}).get("$type") for p in posts}
    assert embeds == {
        "app.bsky.embed.images#view",
        "app.bsky.embed.recordWithMedia#view",
        "app.bsky.embed.external#view",
        "app.bsky.embed.gallery#view",
        "app.bsky.embed.video#view",
        None,
    }
    first = posts[0]
    text = first["record"]["text"].encode()
    facet = first["record"]["facets"][0]
    assert text[facet["index"]["byteStart"] : facet["index"]["byteEnd"]] == b"#boho"
    assert facet["features"][0] == {"$type": "app.bsky.richtext.facet#tag", "tag": "boho"}
    quote = next(p for p in posts if p.get("embed", {}).get("media"))
    fullsize = quote["embed"]["media"]["images"][0]["fullsize"]
    assert fullsize.startswith(url) and jpeg_size(get(fullsize).content)
    assert app.config["logins"] == 2


def test_bluesky_expired_token_refresh_and_logged_out_html_403(served: Served) -> None:
    url = served(create_bluesky_app(ReplicaOptions(posts=5, token=TOKEN, session_ttl_s=0)))
    session = login(url).json()
    search = f"{url}/xrpc/app.bsky.feed.searchPosts"
    expired = get(
        search, params={"q": "#boho"}, headers={"Authorization": f"Bearer {session['accessJwt']}"}
    )
    assert expired.status_code == 400
    assert expired.json() == {"error": "ExpiredToken", "message": "Token has expired"}
    refreshed = requests.post(
        f"{url}/xrpc/com.atproto.server.refreshSession",
        headers={"Authorization": f"Bearer {session['refreshJwt']}"},
        timeout=10,
    )
    assert refreshed.status_code == 200 and refreshed.json()["accessJwt"] != session["accessJwt"]
    blocked = served(create_bluesky_app(ReplicaOptions(posts=5, html_403=True)))
    page = get(f"{blocked}/xrpc/app.bsky.feed.searchPosts", params={"q": "#boho"})
    assert page.status_code == 403 and page.text.startswith("<!DOCTYPE html>")


def test_bluesky_login_limit_answers_429_until_its_reset(served: Served) -> None:
    app = create_bluesky_app(ReplicaOptions(token=TOKEN, login_limit=2, rate_limit_wait_s=0.3))
    url = served(app)
    answers = [login(url) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[1].headers["RateLimit-Remaining"] == "0"
    limited = answers[2]
    assert limited.json() == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert limited.headers["RateLimit-Limit"] == "2"
    assert limited.headers["RateLimit-Policy"] == "2;w=300"
    reset = int(limited.headers["RateLimit-Reset"])  # Unix seconds
    assert time.time() - 2 < reset <= time.time() + 1
    time.sleep(0.35)
    assert login(url).status_code == 200
    assert app.config["logins"] == 4


# --------------------------------------------------------------------------- Flickr


def test_flickr_feed_is_jsonp_with_invalid_escapes(served: Served) -> None:
    app = create_flickr_app(ReplicaOptions(posts=30))
    url = served(app)
    feed = f"{url}/services/feeds/photos_public.gne"
    wrapped = get(feed, params={"tags": "boho", "format": "json"}).text
    assert wrapped.startswith("jsonFlickrFeed(") and wrapped.endswith(")")
    plain = get(feed, params={"tags": "boho", "format": "json", "nojsoncallback": "1"}).text
    assert "\\'" in plain
    with pytest.raises(json.JSONDecodeError):
        json.loads(plain)
    data = json.loads(plain.replace("\\'", "'"))
    assert data["title"] == "Recent Uploads tagged boho"
    assert len(data["items"]) == 20
    item = data["items"][0]
    assert {
        "title",
        "link",
        "media",
        "date_taken",
        "description",
        "published",
        "author",
    } <= item.keys()
    assert item["author_id"] and "boho" in item["tags"].split()
    assert item["media"]["m"] in item["description"] and item["media"]["m"].endswith("_m.jpg")
    small = jpeg_size(get(item["media"]["m"]).content)
    large = jpeg_size(get(item["media"]["m"].replace("_m.jpg", "_b.jpg")).content)
    assert max(small) == 240 and max(large) == 1024
    assert get(feed, params={"tags": "boho"}).text.startswith("<?xml")
    assert (
        json.loads(
            get(feed, params={"tags": "nosuch", "format": "json", "nojsoncallback": "1"}).text
        )["items"]
        == []
    )


def test_flickr_rest_search_keys_pages_and_extras(served: Served) -> None:
    app = create_flickr_app(ReplicaOptions(posts=25, token=FLICKR_KEY))
    url = served(app)
    rest = f"{url}/services/rest/"
    base = {
        "method": "flickr.photos.search",
        "tags": "boho",
        "format": "json",
        "nojsoncallback": "1",
    }
    for key, why in ((None, "Key has invalid format"), ("f" * 32, "Key not found")):
        r = get(rest, params={**base, "api_key": key} if key else base)
        assert r.status_code == 200
        assert r.json() == {"stat": "fail", "code": 100, "message": f"Invalid API Key ({why})"}
    extras = "url_l,date_upload,owner_name,tags,count_faves,description"
    photos, page = [], 1
    while True:
        params = {
            **base,
            "api_key": FLICKR_KEY,
            "extras": extras,
            "per_page": "10",
            "page": str(page),
        }
        body = get(rest, params=params).json()
        assert body["stat"] == "ok"
        meta = body["photos"]
        assert (meta["page"], meta["pages"], meta["perpage"], meta["total"]) == (page, 3, 10, 25)
        photos += meta["photo"]
        if page >= meta["pages"]:
            break
        page += 1
    assert [p["id"] for p in photos] == [p.key for p in app.config["catalogue"]["boho"]]
    photo = photos[0]
    assert photo["dateupload"].isdigit() and photo["ownername"] and photo["count_faves"].isdigit()
    assert photo["url_l"].endswith("_b.jpg") and max(photo["width_l"], photo["height_l"]) == 1024
    assert jpeg_size(get(photo["url_l"]).content) == (photo["width_l"], photo["height_l"])
    bare = get(rest, params={**base, "api_key": FLICKR_KEY}).json()["photos"]["photo"][0]
    assert "url_l" not in bare and "dateupload" not in bare
    assert get(rest, params={**base, "api_key": FLICKR_KEY, "nojsoncallback": "0"}).text.startswith(
        "jsonFlickrApi("
    )
    assert FLICKR_KEY not in json.dumps(app.config["requests"])


# --------------------------------------------------------------------------- Tumblr


def test_tumblr_tagged_pages_by_before(served: Served) -> None:
    app = create_tumblr_app(ReplicaOptions(posts=45, token=TOKEN))
    url = served(app)
    bad = get(f"{url}/v2/tagged", params={"tag": "boho", "api_key": "wrong"})
    assert bad.status_code == 401
    assert bad.json()["meta"] == {"status": 401, "msg": "Unauthorized"} and bad.json()["errors"]
    posts, params = [], {"tag": "boho", "api_key": TOKEN, "limit": "20"}
    while True:
        body = get(f"{url}/v2/tagged", params=params).json()
        assert body["meta"] == {"status": 200, "msg": "OK"}
        if not body["response"]:
            break
        posts += body["response"]
        params["before"] = str(body["response"][-1]["timestamp"])
    catalogue = app.config["catalogue"]["boho"]
    assert [p["id_string"] for p in posts] == [p.key for p in catalogue]
    photos = [p for p in posts if p["type"] == "photo"]
    assert {p["type"] for p in posts} == {"photo", "text", "video"}
    assert all("photos" not in p for p in posts if p["type"] == "text")
    original = photos[0]["photos"][0]["original_size"]
    assert jpeg_size(get(original["url"]).content) == (original["width"], original["height"])
    assert all(p["tags"][0] == "boho" and p["post_url"].startswith(url) for p in posts)
    # posts made in the apps: text posts whose body holds the photos as figures with srcset
    apps = [p for p, c in zip(posts, catalogue, strict=True) if c.kind == "blocks"]
    assert apps and all(p["type"] == "text" and p["is_blocks_post_format"] for p in apps)
    assert all(
        p["body"].count("<figure") == len(c.images)
        for p, c in zip(apps, [c for c in catalogue if c.kind == "blocks"], strict=True)
    )
    widest = apps[0]["body"].split('srcset="')[1].split('"')[0].split(", ")[-1].split()[0]
    assert widest.endswith(".jpg") and jpeg_size(get(widest).content)


def test_tumblr_answers_npf_when_asked(served: Served) -> None:
    """With `npf=true` every post is content blocks: photos as image blocks (widest first),
    a GIF as an image block of image/gif with a poster, a video as a video block."""
    app = create_tumblr_app(ReplicaOptions(posts=10, token=TOKEN))
    url = served(app)
    params = {"tag": "boho", "api_key": TOKEN, "npf": "true"}
    posts = get(f"{url}/v2/tagged", params=params).json()["response"]
    catalogue = app.config["catalogue"]["boho"]
    assert all(p["type"] == "blocks" and isinstance(p["content"], list) for p in posts)
    assert any(p["trail"] for p in posts)  # a reblog, whose photos are in its trail
    for post, designed in zip(posts, catalogue, strict=True):
        blocks = [b for t in post["trail"] for b in t["content"]] + post["content"]  # a reblog's
        images = [b for b in blocks if b["type"] == "image"]
        if designed.kind in ("photo", "blocks"):
            widest = [b["media"][0] for b in images]
            assert [m["url"].removeprefix(url) for m in widest] == list(designed.images)
            assert all(b["media"] == sorted(b["media"], key=lambda m: -m["width"]) for b in images)
        elif designed.kind == "animated":
            assert images[0]["media"][0]["type"] == "image/gif" and images[0]["media"][0]["poster"]
            assert get(images[0]["media"][0]["url"]).content[:6] == b"GIF89a"
        elif designed.kind == "video":
            assert blocks[0]["type"] == "video" and not images
        else:
            assert {b["type"] for b in blocks} == {"text"}


# --------------------------------------------------------------------------- shared knobs


@pytest.mark.parametrize("kind", ["not_json", "too_big", "deep"])
def test_bad_first_page_then_a_good_one(served: Served, kind: str) -> None:
    opts = ReplicaOptions(posts=5, bad_body=kind, too_big_bytes=300_000)  # type: ignore[arg-type]
    url = served(create_tumblr_app(opts))
    params = {"tag": "boho", "api_key": "k"}
    bad = get(f"{url}/v2/tagged", params=params)
    assert bad.status_code == 200 and bad.headers["Content-Type"].startswith("application/json")
    if kind == "not_json":
        with pytest.raises(json.JSONDecodeError):
            bad.json()
    elif kind == "too_big":
        assert int(bad.headers["Content-Length"]) == len(bad.content) >= 300_000
        assert isinstance(json.loads(bad.content), list)
    else:
        with pytest.raises(RecursionError):
            json.loads(bad.content)
    assert len(get(f"{url}/v2/tagged", params=params).json()["response"]) == 5


@pytest.mark.parametrize("kind", ["not_gzip", "chained"])
def test_a_badly_encoded_page_after_good_ones(served: Served, kind: str) -> None:
    opts = ReplicaOptions(posts=5, bad_body=kind, bad_body_after=2)  # type: ignore[arg-type]
    url = served(create_tumblr_app(opts))
    params = {"tag": "boho", "api_key": "k"}
    for _ in range(2):
        assert len(get(f"{url}/v2/tagged", params=params).json()["response"]) == 5
    # urllib, which decodes nothing (urllib3 refuses 8 encodings even for an undecoded read)
    with urllib.request.urlopen(f"{url}/v2/tagged?tag=boho&api_key=k", timeout=10) as bad:
        said = [e.strip() for e in bad.headers["Content-Encoding"].split(",")]
        raw = bad.read()
    assert said == ["gzip"] * (1 if kind == "not_gzip" else 8)
    if kind == "not_gzip":
        assert raw == b"[]"
    else:
        for _ in range(8):
            raw = gzip.decompress(raw)
        assert raw == b"[]"
    assert len(get(f"{url}/v2/tagged", params=params).json()["response"]) == 5


def test_a_page_of_junk_items(served: Served) -> None:
    opts = ReplicaOptions(posts=5, bad_body="junk", junk_items=1000, junk_item="[]")
    url = served(create_tumblr_app(opts))
    assert get(f"{url}/v2/tagged", params={"tag": "boho", "api_key": "k"}).json() == [[]] * 1000


def test_empty_first_page_and_a_duplicate_across_pages(served: Served) -> None:
    token = {"Authorization": f"Bearer {TOKEN}"}
    empty = served(create_bluesky_app(ReplicaOptions(posts=10, empty_first_page=True)))
    session = login(empty, "any").json()
    search = f"{empty}/xrpc/app.bsky.feed.searchPosts"
    auth = {"Authorization": f"Bearer {session['accessJwt']}"}
    assert get(search, params={"q": "#boho"}, headers=auth).json() == {"posts": []}
    assert len(get(search, params={"q": "#boho"}, headers=auth).json()["posts"]) == 10
    dup = served(create_pixelfed_app(ReplicaOptions(posts=30, duplicate_across_pages=True)))
    base = f"{dup}/api/v1/timelines/tag/boho"
    first = get(base, headers=token).json()
    second = get(base, params={"max_id": first[-1]["id"]}, headers=token).json()
    assert second[0] == first[-1] and len(second) == 11


def test_latency_is_added_to_api_and_image_requests(served: Served) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=3, latency_s=0.2))
    url = served(app)
    started = time.monotonic()
    status = get(f"{url}/api/v1/timelines/tag/boho").json()[0]
    get(status["media_attachments"][0]["url"])
    assert time.monotonic() - started >= 0.4
    assert [r["kind"] for r in app.config["requests"]] == ["api", "image"]


def test_image_statuses_and_many_images_per_post(served: Served) -> None:
    opts = ReplicaOptions(posts=4, image_status={0: 404, 1: 429}, images_per_post={2: 50})
    app = create_tumblr_app(opts)
    url = served(app)
    posts = {p.index: p for p in app.config["catalogue"]["boho"]}
    assert get(url + posts[0].images[0]).status_code == 404
    limited = get(url + posts[1].images[0])
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert len(posts[2].images) == 50
    bodies = [get(url + path).content for path in posts[2].images]
    assert len(set(bodies)) == 50 and all(jpeg_size(b) for b in bodies)


def test_distinct_posts_never_look_like_near_duplicates(served: Served) -> None:
    """Every post's photo passes the image check, and no two posts' photos are merged by the
    near-duplicate check (pHash within 10 bits, then the thumbnail comparison)."""
    apps = [
        create_mastodon_app(ReplicaOptions(posts=12, tags=frozenset({"boho", "street"}))),
        create_pixelfed_app(ReplicaOptions(posts=12)),
        create_bluesky_app(ReplicaOptions(posts=12)),
        create_flickr_app(ReplicaOptions(posts=12)),
        create_tumblr_app(ReplicaOptions(posts=12)),
    ]
    infos, urls = [], [served(app) for app in apps]
    for app, url in zip(apps, urls, strict=True):
        for post in itertools.chain.from_iterable(app.config["catalogue"].values()):
            for path in post.images:
                infos.append(inspect_image(get(url + path).content, MAX_PIXELS))
    assert len(infos) >= 50
    hashes = [imagehash.hex_to_hash(i.phash) for i in infos]
    prints = np.stack([i.fingerprint for i in infos])
    for a, b in itertools.combinations(range(len(infos)), 2):
        if hashes[a] - hashes[b] <= 10:
            assert not same_photo(prints[a], prints[b]), (a, b)
    assert not same_photos(prints[0], prints[1:]).any()
    # the same photo at two sizes is the same picture (a thumbnail of it)
    flickr, url = apps[3], urls[3]
    path = flickr.config["catalogue"]["boho"][0].images[0]
    big = inspect_image(get(url + path).content, MAX_PIXELS)
    small = inspect_image(get(url + path.replace("_b.jpg", "_m.jpg")).content, MAX_PIXELS)
    assert same_photo(big.fingerprint, small.fingerprint)


def test_same_options_give_the_same_posts(served: Served) -> None:
    def first_page(app: Flask) -> str:
        url = served(app)
        return get(f"{url}/api/v1/timelines/tag/boho").text.replace(url, "HOST")

    opts = ReplicaOptions(posts=10, tags=frozenset({"Boho", "street"}))
    assert first_page(create_mastodon_app(opts)) == first_page(create_mastodon_app(opts))
    app = create_mastodon_app(opts)
    boho, street = (app.config["catalogue"][t] for t in ("boho", "street"))
    assert {p.key for p in boho}.isdisjoint(p.key for p in street)
    assert set(boho[0].images).isdisjoint(street[0].images)
