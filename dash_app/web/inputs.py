"""What callbacks accept from a browser, checked at the boundary (pydantic).

Every value a page sends is hostile until it passes here: hashes are 64 lower-case hex digits,
ids are bounded whole numbers (never 1.7, `true` or "1"), strings and lists have a length cap,
and a value that does not fit becomes a one-line `BadInput` the page shows, never a 500."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

SHA256_PATTERN = r"^[0-9a-f]{64}$"
SHA256_RE = re.compile(SHA256_PATTERN)
TOKEN_PATTERN = r"^[0-9a-f]{32}$"  # the app token and scrape job ids (uuid4().hex)
TOKEN_RE = re.compile(TOKEN_PATTERN)
MAX_ID = 2**62  # far beyond any store, well inside SQLite's signed 64 bits
MAX_PREVIEW_CHARS = 64_000  # a 120-pixel JPEG preview is 3-10 kB as a data URL
MAX_PHOTO_ENTRIES = 64  # any longer list is refused outright, before dedupe and max_photos

Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]
ImageId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Rating = Annotated[int, Field(strict=True, ge=1, le=5)]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
StyleNumber = Annotated[int, Field(strict=True, ge=0, le=100_000)]
Token = Annotated[str, StringConstraints(pattern=TOKEN_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
SourceName = Annotated[str, Field(strict=True), StringConstraints(min_length=1, max_length=100)]
ALL_SOURCES = "__all__"  # the source controls' "all sources" choice


class BadInput(ValueError):
    """A value from the browser that does not fit; the message is shown as it is."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UploadPhoto(_Strict):
    """One of the person's uploads, named by its content hash (never a path)."""

    kind: Literal["upload"]
    sha256: Sha256
    name: Annotated[str, StringConstraints(max_length=80)] = ""
    preview: Annotated[
        str,
        StringConstraints(
            max_length=MAX_PREVIEW_CHARS, pattern=r"^data:image/jpeg;base64,[A-Za-z0-9+/=]*$"
        ),
    ] = ""


class ItemPhoto(_Strict):
    """A catalogue item used as one of the person's photos."""

    kind: Literal["item"]
    id: ImageId
    sha256: Sha256


PhotoEntry = Annotated[UploadPhoto | ItemPhoto, Field(discriminator="kind")]
_PHOTOS = TypeAdapter(list[PhotoEntry])


Flag = Annotated[bool, Field(strict=True)] | None  # a checkbox: true, false or not yet set

MAX_SOURCES = 10  # sources one scrape may walk at once


class ScrapeJob(_Strict):
    """What the Scrape page's Start hands to the background job."""

    id: Token
    tag: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    count: Annotated[int, Field(strict=True, ge=1, le=1000)]
    sources: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=100)]],
        Field(min_length=1, max_length=MAX_SOURCES),
    ]


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int)) or "value"
    return f"{where}: {err.get('msg', 'not accepted')}"


def check(kind: Any, value: object, what: str) -> Any:
    """`value` validated as `kind` (a pydantic type), or BadInput('<what> ... ')."""
    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError as exc:
        raise BadInput(f"{what} was not accepted ({_first_error(exc)})") from None


def photos(value: object, limit: int) -> list[UploadPhoto | ItemPhoto]:
    """The page's photo list: validated, duplicates dropped, at most the last `limit` kept."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput("the photos were not accepted (not a list of photos)")
    if len(value) > MAX_PHOTO_ENTRIES:  # `limit` is how many are used, not this cap
        raise BadInput(
            f"the photos were not accepted (a list of {len(value)} entries; at most "
            f"{MAX_PHOTO_ENTRIES} are taken, and the last {limit} used)"
        )
    try:
        entries = _PHOTOS.validate_python(value)
    except ValidationError as exc:
        raise BadInput(f"a photo was not accepted ({_first_error(exc)})") from None
    seen: set[tuple[str, object]] = set()
    unique = []
    for entry in entries:
        key = (entry.kind, entry.id if isinstance(entry, ItemPhoto) else entry.sha256)
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    return unique[-limit:]


def photo_dicts(entries: list[UploadPhoto | ItemPhoto]) -> list[dict]:
    """Validated entries back as the plain dicts the page keeps."""
    return [entry.model_dump() for entry in entries]


def user_id(value: object) -> str | None:
    """The browser's anonymous id, or None when it has none yet; BadInput when malformed."""
    if value is None or value == "":
        return None
    return check(UserId, value, "the browser's id")


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and SHA256_RE.fullmatch(value) is not None


def is_token(value: object) -> bool:
    return isinstance(value, str) and TOKEN_RE.fullmatch(value) is not None


def source_name(value: object, known: Collection[str]) -> str | None:
    """A source chosen in a control: None for all sources (ALL_SOURCES or nothing chosen), else
    one of `known` (the sources of the current index); BadInput for anything else."""
    if value is None or value == ALL_SOURCES:
        return None
    name = check(SourceName, value, "the source")
    if name not in known:
        raise BadInput(f"the source {name!r} is not one of this index's sources")
    return name


def style_number(value: object) -> int | None:
    """A style number from a query string or a control ('3', 3), or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 100_000 else None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,6}", value):  # ASCII digits only: not ²
        return int(value)
    return None
