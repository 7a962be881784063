"""Posts out of a page's HTML (BeautifulSoup with lxml), driven by a source's selectors."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from scraper.posts import Post, credit_name
from stylescout.licences import normalise as normalise_licence
from stylescout.settings import Selectors
from stylescout.tags import normalise_tags

_HASHTAG = re.compile(r"#([\w-]+)")
_COUNT = re.compile(r"(\d[\d,.]*)\s*([kKmM]?)")
MAX_URL = 2048


def _value(element: Tag, spec: str) -> str | None:
    """Text of the first match of `css`, or its attribute for `css@attr`; '' css = the element."""
    if not spec:
        return None
    css, _, attr = spec.partition("@")
    target = element.select_one(css) if css else element
    if target is None:
        return None
    if attr:
        value = target.get(attr)
        return value if isinstance(value, str) else None
    return target.get_text(" ", strip=True)


def _web_url(base_url: str, link: object) -> str | None:
    """An absolute http(s) address for a link, or None (`javascript:`, `data:`, `mailto:` ...)."""
    if not isinstance(link, str) or not link.strip() or len(link) > MAX_URL:
        return None
    try:
        url = urljoin(base_url, link.strip())
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. 'http://[x/y'
        return None
    return url if ok else None


# <source type="..."> values whose images the store accepts (AVIF, JPEG XL ... are skipped)
STORABLE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp"})


def _srcset_candidates(srcset: object) -> list[tuple[str, float, str]]:
    """('w' or 'x', size, url) of each entry of a srcset ('a.jpg 160w, b.jpg 2x, c.jpg')."""
    if not isinstance(srcset, str):
        return []
    out = []
    for candidate in srcset.split(","):
        parts = candidate.strip().split()
        if not parts or parts[0].startswith("data:"):
            continue
        unit, size = "x", 1.0
        if len(parts) > 1 and parts[-1][-1:] in ("w", "x"):
            number = parts[-1][:-1]
            if number.replace(".", "", 1).isdigit():
                unit, size = parts[-1][-1], float(number)
        out.append((unit, size, parts[0]))
    return out


def image_url(img: Tag) -> str | None:
    """The best image address of an <img>: the largest candidate of its <picture>'s <source>s (of
    a type the store accepts) and of its own srcset, else data-src, else src.

    Widths ('640w') are compared with widths and densities ('2x') with densities; a width wins
    over a density, since it says how many pixels there are."""
    candidates: list[tuple[str, float, str]] = []
    picture = img.find_parent("picture")  # lxml may nest the <img> inside a <source>
    if picture is not None:
        for source in picture.find_all("source"):
            kind = source.get("type")
            if isinstance(kind, str) and kind.strip().lower() not in STORABLE_TYPES:
                continue
            for attr in ("data-srcset", "srcset"):
                candidates += _srcset_candidates(source.get(attr))
    for attr in ("data-srcset", "srcset"):
        candidates += _srcset_candidates(img.get(attr))
    if candidates:
        widths = [c for c in candidates if c[0] == "w"]
        pool = widths or candidates
        return max(pool, key=lambda c: c[1])[2]  # max keeps the first of equals
    for attr in ("data-src", "src"):
        value = img.get(attr)
        if isinstance(value, str) and value.strip() and not value.startswith("data:"):
            return value.strip()
    src = img.get("src")
    return src if isinstance(src, str) and src.strip() else None


def parse_count(text: str | None) -> int | None:
    """'♥ 1,234' -> 1234, '1.2k likes' -> 1200."""
    if not text:
        return None
    match = _COUNT.search(text)
    if not match:
        return None
    number = float(match.group(1).replace(",", ""))
    return int(number * {"k": 1_000, "m": 1_000_000}.get(match.group(2).lower(), 1))


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO 8601 time, or None."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_posts(html: str, base_url: str, selectors: Selectors, source: str) -> list[Post]:
    """Every post on a page that has an image, in page order."""
    soup = BeautifulSoup(html, "lxml")
    posts = []
    for element in soup.select(selectors.post):
        img = element.select_one(selectors.image) if selectors.image else None
        src = image_url(img) if img is not None else None
        if not src:
            continue
        link = _value(element, f"{selectors.link}@href") if selectors.link else element.get("href")
        caption = _value(element, selectors.caption)
        time_spec = selectors.time if "@" in selectors.time else f"{selectors.time}@datetime"
        author_link = f"{selectors.author_link}@href" if selectors.author_link else ""
        posts.append(
            Post(
                image_url=urljoin(base_url, src),
                post_url=_web_url(base_url, link),
                caption=caption,
                tags=tuple(normalise_tags(_HASHTAG.findall(caption or ""))),
                posted_at=parse_time(_value(element, time_spec) if selectors.time else None),
                likes=parse_count(_value(element, selectors.likes)),
                source=source,
                author=credit_name(_value(element, selectors.author)),
                author_url=_web_url(base_url, _value(element, author_link)),
                licence=normalise_licence(_value(element, selectors.licence)),
            )
        )
    return posts


def next_page_link(html: str, base_url: str, selector: str) -> str | None:
    """The absolute address of the page's 'next' link, or None."""
    link = BeautifulSoup(html, "lxml").select_one(selector)
    href = link.get("href") if link is not None else None
    return urljoin(base_url, href) if isinstance(href, str) and href else None
