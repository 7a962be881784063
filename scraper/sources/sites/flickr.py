"""Flickr: the keyless public feed (about 20 newest photos of a tag, no paging), or, with the
person's API key, `flickr.photos.search` paged up to its `pages`.

The feed is not strict JSON: strings carry `\\'` escapes, and without `nojsoncallback` it is
wrapped in `jsonFlickrFeed(...)`. Its `media.m` is the small size (`_m.jpg`); `_b.jpg` is the
large one. The REST API reports errors as HTTP 200 with `"stat": "fail"`.

Credit: the feed names the owner as `nobody@flickr.com ("name")` with `author_id`, and has no
licence; the search's extras give `ownername`, `owner` and `license`, Flickr's licence number.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import TYPE_CHECKING, Any

from scraper.downloader import Downloader
from scraper.posts import Post, credit_name
from scraper.sources.api import ApiError, ApiSource, Endpoint, Page, Request
from stylescout.licences import FLICKR_LICENCES
from stylescout.settings import FieldPaths, PagingConfig

if TYPE_CHECKING:
    from scraper.sources.base import SourceSpec
from stylescout.settings import ApiConfig, CredentialConfig, SourceConfig

PROFILE = "https://www.flickr.com/people/"
ENTRY = SourceConfig(
    kind="api",
    module="flickr",
    base_url="https://www.flickr.com",
    url="{base_url}/services/feeds/photos_public.gne",
    api=ApiConfig(
        params={"tags": "{tag}", "format": "json", "nojsoncallback": "1"},
        items="items",
        fields=FieldPaths(
            image=["media.m"],
            post_url="link",
            text="title",
            text_is_html=False,
            time="published",
            likes=None,
            tags="tags",
            author="author",
            author_url_template=PROFILE + "{author_id}/",
        ),
        credential=CredentialConfig(
            env="STYLESCOUT_FLICKR_API_KEY",
            send="param",
            param="api_key",
            help="a free API key (flickr.com/services/apps/create); without one, the public "
            "feed gives the 20 newest photos",
        ),
    ),
)


_WRAPPER = re.compile(rb"^\s*jsonFlickr(?:Feed|Api)\((.*)\)\s*;?\s*$", re.DOTALL)
_QUOTE_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\'")  # \' but not \\'
_SMALL = re.compile(r"_m\.(jpe?g|png|gif)$", re.IGNORECASE)
_FEED_AUTHOR = re.compile(r'nobody@flickr\.com \("(.*)"\)')
SEARCH_PARAMS = {
    "method": "flickr.photos.search",
    "tags": "{tag}",
    "sort": "date-posted-desc",
    "extras": "url_l,url_c,url_z,date_upload,owner_name,tags,count_faves,license",
    "per_page": "100",
    "media": "photos",
    "safe_search": "1",
    "content_types": "0",
    "format": "json",
    "nojsoncallback": "1",
}


def decode_flickr(body: bytes) -> bytes:
    """Strict JSON from a feed body: the callback wrapper removed, `\\'` made `'`."""
    match = _WRAPPER.match(body)
    if match:
        body = match.group(1)
    return _QUOTE_ESCAPE.sub(rb"\1'", body)


def feed_author(value: str) -> str | None:
    """The name in the feed's `nobody@flickr.com ("name")`; any other value as it is."""
    match = _FEED_AUTHOR.fullmatch(value)
    return credit_name(match.group(1)) if match else value


class FlickrSource(ApiSource):
    """The public feed without a key; `flickr.photos.search` with one."""

    def __init__(
        self, spec: SourceSpec, downloader: Downloader, cancel: threading.Event | None = None
    ) -> None:
        super().__init__(spec, downloader, cancel)
        if self.credential is not None:  # the search API: paged, with likes (faves)
            self.api = self.api.model_copy(
                update={
                    "params": SEARCH_PARAMS,
                    "items": "photos.photo",
                    "fields": FieldPaths(
                        image=["url_l", "url_c", "url_z"],  # url_l is the large _b size
                        post_url=None,
                        post_url_template="https://www.flickr.com/photos/{owner}/{id}",
                        text="title",
                        text_is_html=False,
                        time="dateupload",
                        likes="count_faves",
                        tags="tags",
                        author="ownername",
                        author_url_template=PROFILE + "{owner}/",
                        licence="license",
                        licence_codes=FLICKR_LICENCES,
                    ),
                    "paging": PagingConfig(kind="page", param="page", total_field="photos.pages"),
                }
            )
            self.mode = "api (photos.search)"
        else:
            self.mode = "api (public feed, 20 newest)"

    def first_request(self, endpoint: Endpoint, tag: str) -> Request:
        request = super().first_request(endpoint, tag)
        if self.credential is not None:
            request.url = f"{endpoint.base_url}/services/rest/"
        return request

    def decode(self, body: bytes) -> Any:
        return super().decode(decode_flickr(body))

    def check(self, page: Page) -> None:
        data = page.data
        if isinstance(data, dict) and data.get("stat") == "fail":
            code = data.get("code")
            message = str(data.get("message", ""))[:200]
            cfg = self.api.credential
            if code == 100 and cfg is not None:
                raise ApiError(f"Flickr refused the API key ({message}): check {cfg.env}", "key")
            raise ApiError(f"Flickr answered an error {code}: {message}", f"flickr_{code}")

    def image_urls(self, item: dict[str, Any], base: str) -> list[str]:
        return [_SMALL.sub(r"_b.\1", url) for url in super().image_urls(item, base)]

    def post_from(self, item: Any, page: Page) -> Post | None:
        post = super().post_from(item, page)
        if post is None or post.author is None:
            return post
        return dataclasses.replace(post, author=feed_author(post.author))


SOURCE = FlickrSource
