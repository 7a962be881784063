"""Bluesky: `app.bsky.feed.searchPosts` for `#tag`, called through the person's own server after
`com.atproto.server.createSession` with an app password (logged-out search is off on Bluesky's
side). Sessions are kept per process, since a server allows few logins (30 per 5 minutes): one
login serves every scrape until the token expires.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from scraper.downloader import ApiResponse
from scraper.sources.api import ApiError, ApiSource, Endpoint, Page, one_line, web_url
from stylescout.settings import ApiConfig, CredentialConfig, FieldPaths, PagingConfig, SourceConfig

ENTRY = SourceConfig(
    kind="api",
    module="bluesky",
    enabled=False,
    base_url="https://bsky.social",
    url="{base_url}/xrpc/app.bsky.feed.searchPosts",
    max_pages=20,
    api=ApiConfig(
        params={"q": "#{tag}", "sort": "latest", "limit": "100"},
        items="posts",
        fields=FieldPaths(
            image=[
                "embed.images[].fullsize",  # app.bsky.embed.images#view
                "embed.items[].fullsize",  # app.bsky.embed.gallery#view
                "embed.media.images[].fullsize",  # a quote post with images
                "embed.media.items[].fullsize",
            ],
            post_url=None,
            text="record.text",
            text_is_html=False,
            time="record.createdAt",
            likes="likeCount",
            tags="record.tags",
            author="author.handle",  # unique, unlike displayName
            author_url_template="https://bsky.app/profile/{author.handle}",
            kind=["embed.media.$type", "embed.$type"],  # a video, a link card, a quote
        ),
        paging=PagingConfig(kind="cursor", param="cursor", field="cursor"),
        request_spacing_s=0.5,
        credential=CredentialConfig(
            env="STYLESCOUT_BLUESKY_APP_PASSWORD",
            user_env="STYLESCOUT_BLUESKY_HANDLE",
            send="login",
            required=True,
            help="an app password (Settings > Privacy and security > App passwords) and "
            "your handle",
        ),
    ),
)


log = logging.getLogger(__name__)

SESSION_TTL_S = 90 * 60  # access tokens last about two hours; renewed before that
_sessions: dict[tuple[str, str], tuple[str, float]] = {}
_sessions_lock = threading.Lock()
_EXPIRED = {"ExpiredToken", "InvalidToken"}


def forget_sessions() -> None:
    """Drop every cached session (tests; a changed password)."""
    with _sessions_lock:
        _sessions.clear()


class BlueskySource(ApiSource):
    """Search results with images (`embed.images` or `embed.media.images`); the post's web
    address is built from the author's handle and the record key at the end of its `uri`."""

    def auth(self, endpoint: Endpoint) -> tuple[dict[str, str], dict[str, str]]:
        return {"Authorization": f"Bearer {self._session()}"}, {}

    def _session(self, renew: bool = False) -> str:
        cred = self.credential
        if cred is None or not cred.user:
            raise ApiError(f"{self.name} needs a handle and an app password", "credential")
        base = (self.spec.config.base_url or "").rstrip("/")
        key = (base, cred.user)
        with _sessions_lock:
            cached = _sessions.get(key)
            if cached and not renew and cached[1] > time.monotonic():
                return cached[0]
        # logged in outside the lock: a login that waits out a 429 must not hold up (or be
        # uncancellable for) other scrapes; two at once may both log in, rarely
        token = self._login(base, cred.user, cred.value)
        with _sessions_lock:
            _sessions[key] = (token, time.monotonic() + SESSION_TTL_S)
        return token

    def _login(self, base: str, handle: str, password: str) -> str:
        url = f"{base}/xrpc/com.atproto.server.createSession"
        label = Endpoint(self.name, base)
        for _ in range(2):
            response = self.downloader.request_api(
                url,
                method="POST",
                json_body={"identifier": handle, "password": password},
                headers={"Accept": "application/json"},
                cap=64_000,
            )
            if response.status == 429:
                self._wait_out(response, label)
                continue
            data = self._decode_any(response)
            if response.status >= 400 or not isinstance(data, dict):
                env = self.api.credential.env if self.api.credential else "the app password"
                raise ApiError(
                    f"{self.name}: logging in as {handle} failed (HTTP {response.status}"
                    f"{_error_name(data)}): check {env} and the handle",
                    "login",
                )
            token = data.get("accessJwt")
            if not isinstance(token, str) or not token or len(token) > 8192:
                raise ApiError(f"{self.name}: the login answer has no access token", "login")
            log.info("%s: logged in as %s", self.name, handle)
            return token
        raise ApiError(f"{self.name}: logins are rate limited: try again later", "rate_limited")

    def fetch(self, request: Any, endpoint: Endpoint) -> Page:
        try:
            return super().fetch(request, endpoint)
        except ApiError as exc:
            if exc.reason not in ("http_400", "http_401") or "Token" not in str(exc):
                raise
        self._session(renew=True)  # expired: log in once more and ask again
        return super().fetch(request, endpoint)

    def refusal(self, response: ApiResponse, data: Any, endpoint: Endpoint) -> ApiError:
        name = data.get("error") if isinstance(data, dict) else None
        if name in _EXPIRED:
            return ApiError(f"{endpoint.label}: {name}", f"http_{response.status}")
        if response.status == 403 and not isinstance(data, dict):
            return ApiError(
                f"{endpoint.label} refused the search (HTTP 403, not an API answer): search needs "
                "a logged-in session through your own server (base_url)",
                "http_403",
            )
        if name == "AuthMissing":
            return ApiError(f"{endpoint.label} wants a logged-in session (AuthMissing)", "http_401")
        return super().refusal(response, data, endpoint)

    def post_url(self, item: dict[str, Any], base: str) -> str | None:
        author = item.get("author")
        uri = item.get("uri")
        handle = author.get("handle") if isinstance(author, dict) else None
        if not isinstance(handle, str) or not isinstance(uri, str):
            return None
        rkey = uri.rsplit("/", 1)[-1]
        if not rkey or not handle.replace(".", "").replace("-", "").isalnum() or not rkey.isalnum():
            return None
        return web_url(f"https://bsky.app/profile/{handle}/post/{rkey}", base)


def _error_name(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return ", " + json.dumps(one_line(data["error"], 80))
    return ""


SOURCE = BlueskySource
