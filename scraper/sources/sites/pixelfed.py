"""Pixelfed's hashtag timeline: Mastodon's API shape (and its source class), paged by max_id."""

from __future__ import annotations

from scraper.sources.sites.mastodon import MASTODON_FIELDS
from stylescout.settings import ApiConfig, CredentialConfig, PagingConfig, SourceConfig

ENTRY = SourceConfig(
    kind="api",
    module="mastodon",
    enabled=False,
    url="{base_url}/api/v1/timelines/tag/{tag}",
    instances=["pixelfed.social"],
    max_pages=25,
    api=ApiConfig(
        params={"only_media": "true", "limit": "40"},
        fields=MASTODON_FIELDS,
        skip_if=["reblog"],
        paging=PagingConfig(kind="max_id", param="max_id", field="id"),
        request_spacing_s=1.0,
        credential=CredentialConfig(
            env="STYLESCOUT_PIXELFED_TOKEN",
            required=True,
            help="a personal access token of your Pixelfed account (Settings > "
            "Applications > Personal access tokens, scope read)",
        ),
    ),
)
