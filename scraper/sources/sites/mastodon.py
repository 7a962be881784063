"""Mastodon (and Pixelfed, which answers the same API): a hashtag timeline on each instance of a
list, walked in turn. The same post federated to two instances is given once.

Mastodon pages with `Link: rel="next"`; Pixelfed has no Link header and pages by `max_id` (the
config entry says which). A 401 without a token is Mastodon 4.5's `timelines_access` setting:
the instance shows hashtag timelines to signed-in users only.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from scraper.downloader import ApiResponse
from scraper.sources.api import ApiError, ApiSource, Endpoint, one_line, read_credential
from stylescout.errors import ConfigError
from stylescout.settings import (
    ApiConfig,
    CredentialConfig,
    FieldPaths,
    InstanceConfig,
    PagingConfig,
    SourceConfig,
)

MASTODON_FIELDS = FieldPaths(  # Mastodon's status, which Pixelfed's API answers too
    image=["media_attachments[type=image].url|remote_url"],  # remote_url: not yet processed
    post_url="url",
    text="content",
    time="created_at",
    likes="favourites_count",
    tags="tags[].name",
    author="account.acct",  # the handle: unique, unlike a display name, which anyone may copy
    author_url="account.url",
    kind=["media_attachments[].type"],  # video, gifv, audio: skipped by that name
)
ENTRY = SourceConfig(
    kind="api",
    module="mastodon",
    url="{base_url}/api/v1/timelines/tag/{tag}",
    instances=["mastodon.social", "mastodon.art"],
    max_pages=25,
    api=ApiConfig(
        params={"only_media": "true", "limit": "40"},
        fields=MASTODON_FIELDS,
        skip_if=["reblog"],
        paging=PagingConfig(kind="link"),
        request_spacing_s=1.0,  # 300 requests per 5 minutes per address without a token
        credential=CredentialConfig(
            env="STYLESCOUT_MASTODON_TOKEN",
            help="an access token of your account on the instance (Preferences > "
            "Development > New application, scope read)",
        ),
    ),
)


_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?")


def instance_base(entry: str, source: str) -> str:
    """`https://host` for an instance host name, or the entry itself when it is an http(s) URL
    (a local mirror). ConfigError for anything else."""
    value = entry.strip().lower().rstrip("/")
    if value.startswith(("http://", "https://")):
        if not urlsplit(value).hostname:
            raise ConfigError(f"sources.{source}.instances: {entry!r} has no host")
        return value
    if not _HOST.fullmatch(value):
        raise ConfigError(
            f"sources.{source}.instances: {entry!r} is not a host name such as mastodon.social"
        )
    return f"https://{value}"


class MastodonSource(ApiSource):
    """Tag timelines of Mastodon-API instances; boosts and non-image media are skipped by the
    entry's field paths (`skip_if: [reblog]`, `media_attachments[type=image].url`)."""

    def endpoints(self) -> list[Endpoint]:
        cfg = self.spec.config
        entries = [cfg.base_url] if cfg.base_url else cfg.instances
        if not entries:
            raise ConfigError(f"sources.{self.name}: give instances (host names) or a base_url")
        endpoints = []
        for entry in entries:
            host = entry if isinstance(entry, str) else entry.host
            base = instance_base(host, self.name)
            label = urlsplit(base).netloc
            credential = None
            if isinstance(entry, InstanceConfig) and (entry.token_env or entry.token_file):
                own = CredentialConfig(env=entry.token_env, file=entry.token_file, required=True)
                credential = read_credential(f"{self.name} ({label})", own)
            endpoints.append(Endpoint(label, base, credential))
        if self.credential is not None and len(endpoints) > 1:
            env = self.api.credential.env if self.api.credential else None
            raise ConfigError(
                f"source {self.name!r}: the token from {self.credential.origin} would go to"
                f" {len(endpoints)} instances, but a token belongs to the instance that issued"
                f" it: give it in that instance's entry (instances: [{{host: ..., token_env:"
                f" {env or '...'}}}]) or keep one instance"
            )
        return endpoints

    def refusal(self, response: ApiResponse, data: Any, endpoint: Endpoint) -> ApiError:
        """Signed-in users only: Mastodon answers 422 "This method requires an authenticated
        user" (401 where the instance's proxy or version says so); Pixelfed redirects to its
        login page, or answers 500 "Unauthenticated." to a client that asks for JSON."""
        cfg = self.api.credential
        env = cfg.env if cfg is not None else None
        error = data.get("error") if isinstance(data, dict) else None
        wants_login = (
            response.status in (401, 403)
            or (response.status == 422 and "authenticated" in str(error))
            or (response.status == 500 and str(error).startswith("Unauthenticated"))
        )
        if wants_login and env:
            token = endpoint.credential or self.credential
            if token is not None:
                return ApiError(
                    f"{endpoint.label} refused the token from {token.origin}"
                    f"{_said(error)}: check {env}",
                    f"http_{response.status}",
                )
            return ApiError(self._token_needed(endpoint, env), f"http_{response.status}")
        return super().refusal(response, data, endpoint)

    def _token_needed(self, endpoint: Endpoint, env: str) -> str:
        cfg = self.api.credential
        help_text = f" ({cfg.help})" if cfg is not None and cfg.help else ""
        return (
            f"{endpoint.label} shows hashtag timelines to signed-in users only (Mastodon's "
            f"timelines_access setting; Pixelfed always): set {env} to an access token of your "
            f"account there{help_text}"
        )


def _said(error: object) -> str:
    return f" ({one_line(error, 120)})" if isinstance(error, str) and error.strip() else ""


SOURCE = MastodonSource
