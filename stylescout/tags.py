"""Tag normalisation shared by the scraper, the store and the dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterable

from stylescout.errors import InvalidTagError

MAX_TAG_LENGTH = 64
_VALID = re.compile(r"[\w-]+")  # Unicode letters and digits, '_' and '-'


def normalise_tag(raw: str) -> str:
    """Return the canonical form of a tag ('#Boho ' -> 'boho') or raise InvalidTagError.

    Tags end up in URLs and file-system-adjacent places, so only letters, digits, '_' and '-'
    are accepted; anything else is refused before any request is made.
    """
    tag = raw.strip().lstrip("#").strip().casefold()
    if not tag:
        raise InvalidTagError(f"tag {raw!r} is empty: give a word such as 'boho'")
    if len(tag) > MAX_TAG_LENGTH:
        raise InvalidTagError(
            f"tag {raw[:20]!r}... is {len(tag)} characters long; the limit is {MAX_TAG_LENGTH}"
        )
    if not _VALID.fullmatch(tag):
        raise InvalidTagError(
            f"tag {raw!r} may contain only letters, digits, '_' and '-' (after an optional '#')"
        )
    return tag


def normalise_tags(raw: Iterable[str]) -> list[str]:
    """Normalise many tags, dropping ones that are invalid and keeping first-seen order.

    Used for tags found in scraped text, where one odd hashtag must not lose the whole post.
    """
    seen: dict[str, None] = {}
    for item in raw:
        try:
            seen.setdefault(normalise_tag(item), None)
        except InvalidTagError:
            continue
    return list(seen)
