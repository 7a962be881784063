"""Licences: what a site's value names, and which licences allow reuse."""

from __future__ import annotations

from typing import Any

import pytest

from stylescout.licences import (
    FLICKR_LICENCES,
    KNOWN,
    allows_reuse,
    deed_url,
    label,
    normalise,
)


@pytest.mark.parametrize(
    ("value", "licence"),
    [
        ("CC-BY-2.0", "CC-BY-2.0"),
        ("cc-by-nc-sa-4.0", "CC-BY-NC-SA-4.0"),
        (" CC BY-NC 2.0 ", "CC-BY-NC-2.0"),
        ("CC BY NC ND 3.0", "CC-BY-NC-ND-3.0"),
        ("https://creativecommons.org/licenses/by-nd/2.0/", "CC-BY-ND-2.0"),
        ("http://creativecommons.org/licenses/by/2.0/fr/", "CC-BY-2.0"),
        ("https://creativecommons.org/licenses/by-sa/4.0/deed.de", "CC-BY-SA-4.0"),
        ("https://creativecommons.org/licenses/by/4.0/legalcode", "CC-BY-4.0"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
        ("https://creativecommons.org/publicdomain/mark/1.0/", "PDM"),
        ("Public Domain Dedication (CC0)", "CC0-1.0"),
        ("Public Domain Mark", "PDM"),
        ("All Rights Reserved", "all-rights-reserved"),
        ("No known copyright restrictions", "no-known-copyright"),
        ("United States Government Work", "us-government-work"),
    ],
)
def test_names_ids_and_links_become_one_identifier(value: str, licence: str) -> None:
    assert normalise(value) == licence
    assert licence in KNOWN


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        "",
        "4",  # a bare number means nothing without the site's codes
        "CC-BY-9.0",
        "CC-XY-4.0",
        "some licence",
        "javascript:alert(1)",
        "https://evil.example/licenses/by/4.0/",
        "https://creativecommons.org/licenses/by/4.0/" + "x" * 400,
        ["CC-BY-4.0"],
        {"id": "4"},
    ],
)
def test_anything_else_is_no_licence(value: Any) -> None:
    assert normalise(value) is None


def test_flickr_numbers_map_to_flickrs_licences() -> None:
    """flickr.photos.licenses.getInfo: 0-10 and the CC 4.0 licences 11-16."""
    expected = {
        "0": "all-rights-reserved",
        "1": "CC-BY-NC-SA-2.0",
        "2": "CC-BY-NC-2.0",
        "3": "CC-BY-NC-ND-2.0",
        "4": "CC-BY-2.0",
        "5": "CC-BY-SA-2.0",
        "6": "CC-BY-ND-2.0",
        "7": "no-known-copyright",
        "8": "us-government-work",
        "9": "CC0-1.0",
        "10": "PDM",
        "11": "CC-BY-4.0",
        "12": "CC-BY-SA-4.0",
        "13": "CC-BY-ND-4.0",
        "14": "CC-BY-NC-4.0",
        "15": "CC-BY-NC-SA-4.0",
        "16": "CC-BY-NC-ND-4.0",
    }
    assert {code: normalise(code, FLICKR_LICENCES) for code in expected} == expected
    assert normalise(4, FLICKR_LICENCES) == "CC-BY-2.0"  # a number, as JSON may give it
    assert normalise("17", FLICKR_LICENCES) is None
    assert normalise("x", {"x": "not a licence"}) is None  # a code's licence is checked too


def test_reuse_with_credit_is_allowed_by_cc_and_public_domain_only() -> None:
    allowed = {
        "CC-BY-2.0",
        "CC-BY-SA-4.0",
        "CC-BY-ND-2.0",
        "CC-BY-NC-SA-2.0",
        "CC-BY-NC-ND-4.0",
        "CC0-1.0",
        "PDM",
        "no-known-copyright",
        "us-government-work",
    }
    assert all(allows_reuse(licence) for licence in allowed)
    assert not allows_reuse("all-rights-reserved")
    assert not allows_reuse(None)
    assert not allows_reuse("CC-BY-9.0")  # not an identifier of ours
    assert {lic for lic in KNOWN if allows_reuse(lic)} == KNOWN - {"all-rights-reserved"}


def test_labels_and_deeds() -> None:
    assert label("CC-BY-NC-SA-2.0") == "CC BY-NC-SA 2.0"
    assert label("PDM") == "Public Domain Mark"
    assert label("all-rights-reserved") == "All rights reserved"
    assert label("nonsense") is None and label(None) is None
    assert deed_url("CC-BY-4.0") == "https://creativecommons.org/licenses/by/4.0/"
    assert deed_url("CC0-1.0") == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert deed_url("us-government-work") is None and deed_url("x") is None
