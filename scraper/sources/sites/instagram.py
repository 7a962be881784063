"""Instagram's tag pages, read in Chromium with your own session cookie (off by default: read
its limits in docs/how-to/sources.md first). A browser entry: selectors, no code of its own."""

from __future__ import annotations

from stylescout.settings import Selectors, SourceConfig

ENTRY = SourceConfig(
    kind="browser",
    enabled=False,
    url="https://www.instagram.com/explore/tags/{tag}/",
    selectors=Selectors(
        post='a[href*="/p/"]',
        image="img",
        link="",
        caption="img@alt",
        time="time@datetime",
        likes="",
    ),
    cookie_name="sessionid",
    cookie_env="STYLESCOUT_INSTAGRAM_SESSIONID",
    host_spacing_s=3.0,
    max_pages=20,
)
