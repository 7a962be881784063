"""The store's schema as a list of forward migrations, written for SQLite and translated for
PostgreSQL (`for_postgres`); each back end records how many ran (`store/database.py`)."""

from __future__ import annotations

import re
import sqlite3

from stylescout.errors import StoreError

# Entry i moves the schema from version i to i + 1. Never edit a released entry: append one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE images (
        id          INTEGER PRIMARY KEY,
        sha256      TEXT    NOT NULL UNIQUE CHECK (length(sha256) = 64),
        phash       TEXT    CHECK (phash IS NULL OR length(phash) = 16),
        bytes       INTEGER NOT NULL CHECK (bytes > 0),
        width       INTEGER NOT NULL CHECK (width > 0),
        height      INTEGER NOT NULL CHECK (height > 0),
        format      TEXT    NOT NULL,
        source      TEXT    NOT NULL,
        source_url  TEXT,
        post_url    TEXT,
        caption     TEXT,
        posted_at   TEXT,
        likes       INTEGER CHECK (likes IS NULL OR likes >= 0),
        added_at    TEXT    NOT NULL
    );
    CREATE INDEX images_post_url ON images(post_url);
    CREATE INDEX images_posted_at ON images(posted_at);

    CREATE TABLE image_tags (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        tag      TEXT    NOT NULL,
        PRIMARY KEY (image_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX image_tags_tag ON image_tags(tag);

    CREATE TABLE scrape_runs (
        id                INTEGER PRIMARY KEY,
        tag               TEXT    NOT NULL,
        source            TEXT    NOT NULL,
        requested         INTEGER NOT NULL CHECK (requested >= 0),
        added             INTEGER NOT NULL DEFAULT 0,
        duplicates        INTEGER NOT NULL DEFAULT 0,
        failed            INTEGER NOT NULL DEFAULT 0,
        failed_by_reason  TEXT    NOT NULL DEFAULT '{}',
        status            TEXT    NOT NULL DEFAULT 'running'
                          CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
        pid               INTEGER,
        started_at        TEXT    NOT NULL,
        ended_at          TEXT
    );

    CREATE TABLE users (
        id          TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL
    );

    CREATE TABLE ratings (
        id          INTEGER PRIMARY KEY,
        user_id     TEXT    NOT NULL REFERENCES users(id),
        image_id    INTEGER NOT NULL REFERENCES images(id),
        rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        model_key   TEXT,
        style       TEXT,
        query_kind  TEXT,
        rated_at    TEXT    NOT NULL
    );
    CREATE INDEX ratings_user ON ratings(user_id, image_id);
    CREATE INDEX ratings_image ON ratings(image_id);
    """,
    # 2: labels that came with imported images (e.g. the Kaggle set's articleType, baseColour),
    # kept by column so offline evaluation can score against one of them.
    """
    CREATE TABLE image_labels (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        name     TEXT    NOT NULL,
        value    TEXT    NOT NULL,
        PRIMARY KEY (image_id, name)
    ) WITHOUT ROWID;
    CREATE INDEX image_labels_name ON image_labels(name, value);
    """,
    # 3: cached image descriptors per model key (backbone + weights + input size ...), and the
    # images a model could not read, so an incremental build does not try them again.
    """
    CREATE TABLE features (
        model_key TEXT    NOT NULL,
        image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        vector    BLOB,
        failure   TEXT,
        PRIMARY KEY (model_key, image_id),
        CHECK ((vector IS NULL) != (failure IS NULL))
    ) WITHOUT ROWID;
    """,
    # 4: every post an image was seen in. A repost (same bytes, or a near-duplicate) keeps the one
    # image but is recorded here with its own URL, time and likes, so a later scrape does not fetch
    # it again and trends count it. Existing images get the post they were stored from.
    """
    CREATE TABLE posts (
        id         INTEGER PRIMARY KEY,
        image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        source     TEXT    NOT NULL,
        post_url   TEXT,
        posted_at  TEXT,
        likes      INTEGER CHECK (likes IS NULL OR likes >= 0),
        added_at   TEXT    NOT NULL
    );
    CREATE INDEX posts_image ON posts(image_id);
    CREATE INDEX posts_post_url ON posts(post_url);
    INSERT INTO posts (image_id, source, post_url, posted_at, likes, added_at)
        SELECT id, source, post_url, posted_at, likes, added_at FROM images ORDER BY id;
    """,
    # 5: lists shown with two models interleaved (recommender.interleave): which model placed
    # each item, so a rating of it can be credited to that model.
    """
    CREATE TABLE impressions (
        id        INTEGER PRIMARY KEY,
        user_id   TEXT    NOT NULL REFERENCES users(id),
        model_a   TEXT    NOT NULL,
        model_b   TEXT    NOT NULL,
        shown_at  TEXT    NOT NULL
    );
    CREATE INDEX impressions_user ON impressions(user_id, id);
    CREATE TABLE impression_items (
        impression_id INTEGER NOT NULL REFERENCES impressions(id) ON DELETE CASCADE,
        image_id      INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        position      INTEGER NOT NULL CHECK (position >= 0),
        team          TEXT    NOT NULL CHECK (team IN ('a', 'b')),
        PRIMARY KEY (impression_id, image_id)
    );
    CREATE INDEX impression_items_image ON impression_items(image_id);
    ALTER TABLE ratings ADD COLUMN impression_id INTEGER REFERENCES impressions(id);
    """,
    # 6: the machine each scrape ran on: with several machines on one PostgreSQL store, a run is
    # judged abandoned only by its own machine, which alone can tell whether its process lives.
    """
    ALTER TABLE scrape_runs ADD COLUMN host TEXT;
    """,
    # 7: accounts for a shared dashboard: an argon2 hash per name, and the failed sign-ins that
    # make the next attempt wait (store/repositories/accounts.py).
    """
    CREATE TABLE accounts (
        name            TEXT    PRIMARY KEY CHECK (length(name) BETWEEN 3 AND 64),
        password_hash   TEXT    NOT NULL,
        created_at      TEXT    NOT NULL,
        failed          INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
        locked_until    TEXT
    );
    """,
    # 8: sign-in sessions of the shared dashboard, kept in the store so every worker (and every
    # machine) knows them; only a hash of the cookie's secret is kept (dash_app/web/auth.py).
    """
    CREATE TABLE sessions (
        token_hash      TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
        account         TEXT    NOT NULL CHECK (length(account) BETWEEN 1 AND 256),
        kind            TEXT    NOT NULL CHECK (kind IN ('password', 'header')),
        csrf            TEXT    NOT NULL CHECK (length(csrf) = 64),
        created_at      TEXT    NOT NULL,
        expires_at      TEXT    NOT NULL
    );
    CREATE INDEX sessions_account ON sessions (account);
    """,
    # 9: failed sign-ins per name, whether or not an account has it (so the answers do not tell
    # which names exist), forgotten an hour after the last one; they replace accounts.failed and
    # accounts.locked_until, which stay unused. And secrets every dashboard worker shares (the key
    # Dash signs background-job handles with), made once.
    """
    CREATE TABLE sign_in_failures (
        name            TEXT    PRIMARY KEY CHECK (length(name) BETWEEN 3 AND 64),
        failed          INTEGER NOT NULL CHECK (failed >= 0),
        locked_until    TEXT,
        last_failed_at  TEXT    NOT NULL
    );
    INSERT INTO sign_in_failures (name, failed, locked_until, last_failed_at)
        SELECT name, failed, locked_until, created_at FROM accounts WHERE failed > 0;
    CREATE TABLE app_secrets (
        name            TEXT    PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
        value           TEXT    NOT NULL,
        created_at      TEXT    NOT NULL
    );
    """,
    # 10: the credit of each post where its site gives it: the author's name or handle, the
    # link to their page and the licence (an identifier of stylescout/licences.py). On the image
    # too, as the first post's, like its post_url and likes. Older posts have none.
    """
    ALTER TABLE images ADD COLUMN author TEXT;
    ALTER TABLE images ADD COLUMN author_url TEXT;
    ALTER TABLE images ADD COLUMN licence TEXT;
    ALTER TABLE posts ADD COLUMN author TEXT;
    ALTER TABLE posts ADD COLUMN author_url TEXT;
    ALTER TABLE posts ADD COLUMN licence TEXT;
    """,
    # 11: followed tags, gathered on a schedule (dash_app/follow.py): the sources and how often,
    # what the last run did and when the next is due, and the call the trends last made of the
    # tag (so only a change raises a notice). Notices are what a followed tag did that a person
    # should see: a breakout, a new significant riser.
    """
    CREATE TABLE follows (
        tag             TEXT    PRIMARY KEY CHECK (length(tag) BETWEEN 1 AND 100),
        sources         TEXT    NOT NULL,
        every_hours     DOUBLE PRECISION NOT NULL CHECK (every_hours >= 0.25),
        count           INTEGER NOT NULL CHECK (count BETWEEN 1 AND 100000),
        added_at        TEXT    NOT NULL,
        next_run_at     TEXT    NOT NULL,
        last_run_at     TEXT,
        last_status     TEXT,
        last_added      INTEGER,
        last_message    TEXT,
        last_call       TEXT
    );
    CREATE TABLE notices (
        id              INTEGER PRIMARY KEY,
        tag             TEXT    NOT NULL,
        kind            TEXT    NOT NULL,
        text            TEXT    NOT NULL,
        created_at      TEXT    NOT NULL,
        seen            INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX notices_unseen ON notices (seen, created_at);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


_PG_ID = re.compile(r"\bid(\s+)INTEGER PRIMARY KEY\b")


def for_postgres(statement: str) -> str:
    """A migration statement in PostgreSQL's words: ids are identity columns, integers 64-bit,
    blobs bytea; SQLite's WITHOUT ROWID has no meaning there."""
    statement = _PG_ID.sub(r"id\1BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", statement)
    statement = re.sub(r"\bINTEGER\b", "BIGINT", statement)
    statement = re.sub(r"\bBLOB\b", "BYTEA", statement)
    return re.sub(r"\)\s*WITHOUT ROWID", ")", statement)


def statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit on its own)."""
    parts, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            parts.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise StoreError("internal error: a migration ends with an incomplete SQL statement")
    return parts
