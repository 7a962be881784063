"""Tumblr's tagged posts (`/v2/tagged`) with your app's consumer key: field paths only."""

from __future__ import annotations

from stylescout.settings import ApiConfig, CredentialConfig, FieldPaths, PagingConfig, SourceConfig

ENTRY = SourceConfig(
    kind="api",
    enabled=False,
    base_url="https://api.tumblr.com",
    url="{base_url}/v2/tagged",
    max_pages=25,
    api=ApiConfig(
        params={"tag": "{tag}", "limit": "20"},
        items="response",
        fields=FieldPaths(
            image=["photos[].original_size.url"],
            post_url="post_url",
            text="summary",
            text_is_html=False,
            time="timestamp",
            likes="note_count",
            tags="tags",
        ),
        paging=PagingConfig(kind="max_id", param="before", field="timestamp"),
        request_spacing_s=0.5,
        credential=CredentialConfig(
            env="STYLESCOUT_TUMBLR_API_KEY",
            send="param",
            param="api_key",
            required=True,
            help="the OAuth consumer key of an app you register (tumblr.com/oauth/apps)",
        ),
    ),
)
