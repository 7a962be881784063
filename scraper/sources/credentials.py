"""Checks on what a person gives a source to sign in with (a session cookie, an API credential),
made when it is loaded, before any request.

A value with a line break reaches an HTTP header, where http.client refuses it with an error
that quotes it (into the log, the traceback, the dashboard's job); and a config can name any
readable file as a credential sent as a query parameter (a private key, a file that never ends).
Errors name the source and where the value came from (the variable or the file), never the value.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from stylescout.errors import ConfigError

MAX_CREDENTIAL_FILE_BYTES = 4096  # tokens and API keys are tens of bytes; a key file is more
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r"[!-~]+")  # printable ASCII without spaces


def refuse_control_characters(value: str, source: str, what: str, origin: str) -> None:
    """ConfigError when `value` (a `what` of `source`, read from `origin`) holds a character
    below 0x20 or 0x7f: a line break would end the header it goes in."""
    if _CONTROL.search(value):
        raise ConfigError(
            f"source {source!r}: the {what} from {origin} holds a line break or another control"
            " character: give the value alone, on one line"
        )


def read_credential_file(path: Path, key: str) -> tuple[str, int]:
    """The token in `path` (surrounding white space removed) and the file's mode.

    ConfigError naming `key` and the file, never its content, when it is not a regular file,
    is larger than `MAX_CREDENTIAL_FILE_BYTES`, is not UTF-8, has more than one line or holds
    anything but printable ASCII without spaces: then it is no token, and is not sent anywhere.
    """
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):  # /dev/zero never ends, a FIFO blocks the open
            raise ConfigError(f"{key}: {path} is not a regular file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_CREDENTIAL_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{key}: {exc.strerror}") from None
    if len(raw) > MAX_CREDENTIAL_FILE_BYTES:
        raise ConfigError(
            f"{key}: {path} is larger than {MAX_CREDENTIAL_FILE_BYTES} bytes: not a token"
        )
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"{key}: {path} is not UTF-8 text") from None
    if "\n" in value or "\r" in value:
        raise ConfigError(f"{key}: {path} has more than one line: it should hold the token alone")
    if value and not _TOKEN.fullmatch(value):
        what = "a control character" if _CONTROL.search(value) else "other characters"
        raise ConfigError(f"{key}: {path} holds {what}: a token is printable ASCII without spaces")
    return value, mode
