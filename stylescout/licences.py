"""Licences of scraped photos: one short identifier each, and whether it allows reuse.

A site says a licence its own way: Flickr by number ("4"), a page by a Creative Commons link, an
API by name ("CC BY-NC 2.0"). The store keeps one identifier per licence, SPDX-style where SPDX
has one (`CC-BY-2.0`, `CC-BY-NC-SA-4.0`, `CC0-1.0`) and a plain word where it has none
(`PDM`, `all-rights-reserved`, `no-known-copyright`, `us-government-work`). A value that names
no licence known here is not guessed at: it is dropped (None), as if the site gave none.

The scraper, the dashboard and the exports all read this module, so it sits in the core.
"""

from __future__ import annotations

import re
from typing import Any

ALL_RIGHTS_RESERVED = "all-rights-reserved"
NO_KNOWN_COPYRIGHT = "no-known-copyright"
US_GOVERNMENT_WORK = "us-government-work"
CC0 = "CC0-1.0"
PDM = "PDM"

_CC_VERSIONS = ("1.0", "2.0", "2.5", "3.0", "4.0")
_CC_KINDS = ("by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd")
_CC = re.compile(r"cc-(by(?:-nc)?(?:-sa|-nd)?)-(\d\.\d)")
_CC_URL = re.compile(
    r"https?://(?:www\.)?creativecommons\.org/(?:licenses/(by(?:-nc)?(?:-sa|-nd)?)/(\d\.\d)"
    r"|publicdomain/(zero|mark)/1\.0)(?:/[a-z-]{0,10})?/?(?:deed\.[a-z-]{2,10}|legalcode)?",
    re.IGNORECASE,
)
_NAMES = {  # names and ids as sites write them, folded (lower case, words joined by "-")
    "all-rights-reserved": ALL_RIGHTS_RESERVED,
    "no-known-copyright": NO_KNOWN_COPYRIGHT,
    "no-known-copyright-restrictions": NO_KNOWN_COPYRIGHT,
    "us-government-work": US_GOVERNMENT_WORK,
    "united-states-government-work": US_GOVERNMENT_WORK,
    "cc0": CC0,
    "cc0-1.0": CC0,
    "public-domain-dedication-cc0": CC0,
    "pdm": PDM,
    "pdm-1.0": PDM,
    "public-domain-mark": PDM,
    "public-domain-mark-1.0": PDM,
}

# Flickr's licence numbers, as flickr.photos.licenses.getInfo lists them (11-16: the CC 4.0
# licences Flickr added in June 2025).
FLICKR_LICENCES: dict[str, str] = {
    "0": ALL_RIGHTS_RESERVED,
    "1": "CC-BY-NC-SA-2.0",
    "2": "CC-BY-NC-2.0",
    "3": "CC-BY-NC-ND-2.0",
    "4": "CC-BY-2.0",
    "5": "CC-BY-SA-2.0",
    "6": "CC-BY-ND-2.0",
    "7": NO_KNOWN_COPYRIGHT,
    "8": US_GOVERNMENT_WORK,
    "9": CC0,
    "10": PDM,
    "11": "CC-BY-4.0",
    "12": "CC-BY-SA-4.0",
    "13": "CC-BY-ND-4.0",
    "14": "CC-BY-NC-4.0",
    "15": "CC-BY-NC-SA-4.0",
    "16": "CC-BY-NC-ND-4.0",
}

KNOWN: frozenset[str] = frozenset(
    {f"CC-{kind.upper()}-{version}" for kind in _CC_KINDS for version in _CC_VERSIONS}
    | set(_NAMES.values())
)
_PUBLIC = frozenset({CC0, PDM, NO_KNOWN_COPYRIGHT, US_GOVERNMENT_WORK})
MAX_VALUE = 300  # longer than any licence name or link: not read


def normalise(value: Any, codes: dict[str, str] | None = None) -> str | None:
    """The identifier of the licence a site's value names, or None.

    `value` may be an identifier (`CC-BY-2.0`, any case), a name (`CC BY-NC 2.0`, `Public
    Domain Mark`, `All Rights Reserved`), a Creative Commons link (a port's country part is
    dropped: `.../by/2.0/fr/` is CC-BY-2.0), or a site's own code found in `codes` (Flickr's
    numbers). A number that is not in `codes`, or anything else, is None: a site's hostile or
    unknown value never becomes a licence."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not text or len(text) > MAX_VALUE:
        return None
    if codes and text in codes:
        return normalise(codes[text])  # a code maps to a name, itself checked
    url = _CC_URL.fullmatch(text)
    if url:
        kind, version, public = url.groups()
        if public:
            return CC0 if public.lower() == "zero" else PDM
        return _cc(kind.lower(), version)
    folded = "-".join(re.split(r"[\s_\-/(),]+", text.lower())).strip("-")
    if folded in _NAMES:
        return _NAMES[folded]
    cc = _CC.fullmatch(folded)
    return _cc(cc.group(1), cc.group(2)) if cc else None


def _cc(kind: str, version: str) -> str | None:
    found = f"CC-{kind.upper()}-{version}"
    return found if found in KNOWN else None


def allows_reuse(licence: str | None) -> bool:
    """Whether a photo under `licence` may be shown and passed on, unchanged and credited.

    Yes: every Creative Commons licence with BY (attribution; with SA, ND and NC too: showing a
    photo unchanged, with its credit, is no adaptation, and StyleScout sells nothing), CC0, the
    Public Domain Mark, "no known copyright restrictions" (Flickr Commons) and US Government
    works. No: all rights reserved, and a post whose licence is unknown or not given.
    A commercial use must leave out the NC licences itself: they do not allow it."""
    if licence is None or licence not in KNOWN:
        return False
    return licence in _PUBLIC or licence.startswith("CC-BY")


def _cc_parts(licence: str) -> tuple[str, str] | None:
    """("BY-NC", "2.0") of a CC BY licence identifier, else None."""
    if not licence.startswith("CC-BY"):
        return None
    kind, version = licence[3:].rsplit("-", 1)
    return kind, version


def label(licence: str | None) -> str | None:
    """The licence as people write it ("CC BY-NC 2.0", "Public Domain Mark"), or None."""
    if licence is None or licence not in KNOWN:
        return None
    if cc := _cc_parts(licence):
        return f"CC {cc[0]} {cc[1]}"
    return {
        CC0: "CC0 1.0",
        PDM: "Public Domain Mark",
        NO_KNOWN_COPYRIGHT: "No known copyright restrictions",
        US_GOVERNMENT_WORK: "US Government work",
        ALL_RIGHTS_RESERVED: "All rights reserved",
    }[licence]


def deed_url(licence: str | None) -> str | None:
    """The Creative Commons page of a CC licence, CC0 or the Public Domain Mark; else None."""
    if licence is None or licence not in KNOWN:
        return None
    if cc := _cc_parts(licence):
        return f"https://creativecommons.org/licenses/{cc[0].lower()}/{cc[1]}/"
    return {
        CC0: "https://creativecommons.org/publicdomain/zero/1.0/",
        PDM: "https://creativecommons.org/publicdomain/mark/1.0/",
    }.get(licence)
