"""The docs a person reads after cloning: every relative link and picture resolves to a file in
the repository, nothing points outside it (but public web sites), and the README stays a front
page. `make docs` checks the site's own links strictly; this covers the Markdown files GitHub
shows too (README.md, SECURITY.md, data/README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FRONT = [REPO / "README.md", REPO / "SECURITY.md", REPO / "data" / "README.md"]
PAGES = sorted([*FRONT, *(REPO / "docs").rglob("*.md")])
# ](target) of Markdown links and pictures, and href/src attributes of inline HTML
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)=\"([^\"]+)\"")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)


def _links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))  # code blocks hold no links
    text = re.sub(r"`[^`\n]*`", "", text)
    return [a or b for a, b in LINK.findall(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves_inside_the_repository(page: Path) -> None:
    broken = []
    for target in _links(page):
        if re.match(r"^(https?:|mailto:|#)", target):
            continue
        assert "://" not in target, f"{page.name}: only http(s) sites may be linked: {target}"
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.is_relative_to(REPO) or not path.exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)}: links that lead nowhere in a clone: {broken}"


def test_nothing_names_the_workplace_outside_the_repository() -> None:
    for page in PAGES:
        assert "../shared" not in page.read_text(encoding="utf-8"), page


def test_the_readme_is_a_front_page() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; the docs site holds the rest"
    assert "make test" in "\n".join(lines)  # the README's test command, which CI runs
