from __future__ import annotations

import pytest

from stylescout.errors import InvalidTagError
from stylescout.tags import normalise_tag, normalise_tags


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("boho", "boho"),
        ("#Boho", "boho"),
        ("  #StreetWear ", "streetwear"),
        ("ootd_2026", "ootd_2026"),
        ("old-money", "old-money"),
        ("Été", "été"),
        ("##double", "double"),
    ],
)
def test_normalises(raw: str, expected: str) -> None:
    assert normalise_tag(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["../x", "a/b", "", "   ", "#", "###", "x" * 500, "a b", "boho!", "<script>", "a.b", "🔥"],
)
def test_refuses(raw: str) -> None:
    with pytest.raises(InvalidTagError):
        normalise_tag(raw)


def test_many_tags_drop_invalid_and_duplicates_keeping_order() -> None:
    assert normalise_tags(["#Boho", "dress", "boho", "a/b", "🔥", "Dress", "hat"]) == [
        "boho",
        "dress",
        "hat",
    ]
