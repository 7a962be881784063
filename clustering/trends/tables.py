"""The numbers behind every trend chart as tables: one module, so the Trends page's CSV links and
`stylescout trends --tag T --csv|--json` give the same rows for the same view.

Views (`VIEWS`): `interest` (a tag's weekly share as an index 0-100, or the top tags'), `rising`
(the rising list), `sources` (one tag's interest on each site side by side, with its changes),
`forecast` (posts per week with the forecast of the method with the best record) and `styles`
(each style's posts and share per week for a tag; needs a style index).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from clustering.export import spreadsheet_safe
from clustering.trends import interest as interest_mod

if TYPE_CHECKING:
    from clustering.index import StyleIndex
    from store import Store

VIEWS = ("interest", "rising", "sources", "forecast", "styles")
MIN_POSTS = 5  # the style view's weeks with fewer posts are left out, as on the page
TOP = 20  # tags in a view asked without a tag


@dataclass(frozen=True)
class Table:
    """Rows of one view; `notes` are sentences a person should read beside them."""

    view: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "columns": list(self.columns),
            "rows": self.rows,
            "notes": self.notes,
        }


def _number(value: float, digits: int = 4) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def since_weeks(store: Store, weeks: int | None) -> str | None:
    """The first day of the last `weeks` weeks of the store's posts (None: every week)."""
    from clustering.trends.model import window_start

    return window_start((t for _, t in store.images.post_times()), weeks) if weeks else None


def _tags(store: Store, tags: Sequence[str] | None, top: int) -> list[str]:
    return list(tags) if tags else [t for t, _ in store.images.tag_counts()[:top]]


INTEREST_COLUMNS = ("week", "tag", "source", "posts", "all_posts", "share", "interest")


def _interest(
    store: Store, tags: Sequence[str] | None, top: int, source: str | None, since: str | None
) -> dict[str, interest_mod.Interest]:
    posts = store.images.source_post_times()
    names = _tags(store, tags, top)
    return interest_mod.interest_of(posts, store.images.tags_by_image(), names, source, since)


def _interest_rows(found: Iterable[interest_mod.Interest]) -> list[dict[str, Any]]:
    """One row per week of each series."""
    return [
        {
            "week": week.isoformat(),
            "tag": series.name,
            "source": series.source or "all",
            "posts": int(n),
            "all_posts": int(total),
            "share": _number(share, 6),
            "interest": int(index),
        }
        for series in found
        for week, n, total, share, index in zip(
            series.weeks, series.counts, series.totals, series.shares, series.index, strict=True
        )
    ]


def interest_table(
    store: Store,
    tags: Sequence[str] | None = None,
    source: str | None = None,
    top: int = TOP,
    since: str | None = None,
) -> Table:
    found = _interest(store, tags, top, source, since)
    return Table("interest", INTEREST_COLUMNS, _interest_rows(found.values()))


def _change_row(change: interest_mod.Change) -> dict[str, Any]:
    return {
        "tag": change.name,
        "source": change.source or "all",
        "label": change.label,
        "breakout": change.breakout,
        "posts_last_3_weeks": change.recent,
        "posts_3_weeks_before": change.before,
        "change": _number(change.change),
        "change_low": _number(change.low - 1),
        "change_high": _number(change.high - 1),
        "p_holm": _number(change.adjusted_p, 6),
        "weekly_change": _number(change.weekly_change),
        "trend_p_holm": _number(change.trend_p, 6),
        "interest": round(change.interest, 1),
    }


CHANGE_COLUMNS = (
    "tag",
    "source",
    "label",
    "breakout",
    "posts_last_3_weeks",
    "posts_3_weeks_before",
    "change",
    "change_low",
    "change_high",
    "p_holm",
    "weekly_change",
    "trend_p_holm",
    "interest",
)


def rising_table(
    store: Store,
    tags: Sequence[str] | None = None,
    source: str | None = None,
    top: int = TOP,
    since: str | None = None,
) -> Table:
    found = _interest(store, tags, top, source, since)
    changes = interest_mod.rising_list(found.values())
    short = [t for t in found if t not in {c.name for c in changes}]
    notes = []
    if short:
        notes.append(
            f"Fewer than {2 * interest_mod.WINDOW} whole weeks to compare: "
            + ", ".join(f"#{t}" for t in short)
        )
    return Table("rising", CHANGE_COLUMNS, [_change_row(c) for c in changes], notes)


def sources_table(store: Store, tag: str, since: str | None = None) -> Table:
    posts = [p for p in store.images.source_post_times() if not since or p[2] >= since]
    found = interest_mod.side_by_side(posts, store.images.tags_by_image(), tag)
    notes = [found.disagreement] if found.disagreement else []
    notes += [c.describe() for c in found.changes]
    return Table("sources", INTEREST_COLUMNS, _interest_rows(found.by_source.values()), notes)


def forecast_table(
    store: Store, tags: Sequence[str] | None = None, top: int = 12, since: str | None = None
) -> Table:
    from clustering.trends.backtest import METHOD_NAMES, forecast_by_record
    from clustering.trends.model import tag_trends

    trends = tag_trends(store, _tags(store, tags, top), since=since)
    records = forecast_by_record(trends)
    rows: list[dict[str, Any]] = []
    for trend in trends:
        method = records.of[trend.name].method or ""
        for week, n in zip(trend.coverage.weeks, trend.counts, strict=True):
            rows.append(
                {
                    "week": week.isoformat(),
                    "tag": trend.name,
                    "posts": int(n),
                    "forecast": None,
                    "low": None,
                    "high": None,
                    "method": "",
                    "called": trend.direction,
                }
            )
        for said in trend.forecast:
            rows.append(
                {
                    "week": said.week.isoformat(),
                    "tag": trend.name,
                    "posts": None,
                    "forecast": _number(said.mean, 2),
                    "low": _number(said.low, 2),
                    "high": _number(said.high, 2),
                    "method": method,
                    "called": trend.direction,
                }
            )
    notes = [
        r.describe().replace(METHOD_NAMES[r.method], f"{METHOD_NAMES[r.method]} ({r.method})")
        if r.method
        else r.describe()
        for r in records.used
    ]
    columns = ("week", "tag", "posts", "forecast", "low", "high", "method", "called")
    return Table("forecast", columns, rows, notes)


def styles_table(
    store: Store,
    index: StyleIndex,
    tag: str | None = None,
    source: str | None = None,
    since: str | None = None,
) -> Table:
    from clustering.trends.shares import tag_styles

    found = tag_styles(store, index, tag, source, MIN_POSTS, since=since)
    names = index.meta.names
    rows: list[dict[str, Any]] = []
    weekly = found.weekly
    if weekly is not None:
        shares = weekly.shares
        for w, week in enumerate(weekly.weeks):
            for k, name in enumerate(names):
                rows.append(
                    {
                        "week": week.isoformat(),
                        "tag": tag or "all",
                        "source": source or "all",
                        "style": k + 1,
                        "style_name": name,
                        "posts": int(weekly.counts[w, k]),
                        "share": _number(shares[w, k], 6),
                    }
                )
    notes = [t.describe() for t in found.trends if t.direction != "flat"]
    columns = ("week", "tag", "source", "style", "style_name", "posts", "share")
    return Table("styles", columns, rows, notes)


def write_csv(table: Table, out: IO[str]) -> None:
    """The rows as CSV with a header; text cells a spreadsheet would read as a formula (`=`, `+`,
    `-`, `@` first) are prefixed with `'`, since tags and names come from other people's posts."""
    writer = csv.DictWriter(out, fieldnames=list(table.columns), lineterminator="\n")
    writer.writeheader()
    for row in table.rows:
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})


def to_csv(table: Table) -> str:
    out = io.StringIO()
    write_csv(table, out)
    return out.getvalue()
