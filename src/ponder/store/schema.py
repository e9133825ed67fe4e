"""The store's schema: forward migrations, one schema for SQLite and PostgreSQL.

Each migration moves the schema from version ``i`` to ``i + 1`` and runs in one
transaction. SQLite keeps the version in ``PRAGMA user_version`` (and ponder's
``application_id``); PostgreSQL in a one-row table ``ponder_store``, the
migrations running under an advisory lock so that several servers starting at
once migrate once. A file with a newer version, another application's id or no
SQLite header at all, and a database with a newer version, are refused with
one clear line.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

from ..guards.text import decode
from .db import Database, is_url, redact
from .errors import StoreError

#: ``PRAGMA application_id`` of a ponder store ("PNDR")
APPLICATION_ID = 0x504E4452


MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: runs and their events
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        root_id TEXT NOT NULL,
        parent_run_id TEXT,
        depth INTEGER NOT NULL DEFAULT 0,
        strategy TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        question TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'unfinished',
        answer TEXT,
        stop_reason TEXT,
        detail TEXT,
        usage TEXT,
        started REAL,
        finished REAL
    );
    CREATE INDEX runs_root ON runs(root_id);
    CREATE TABLE events (
        root_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        type TEXT NOT NULL,
        time REAL NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (root_id, seq)
    );
    """,
    # 1 -> 2: how to rebuild a run (resume), resumes, and outcomes recorded by benchmarks
    """
    CREATE TABLE recipes (root_id TEXT PRIMARY KEY, recipe TEXT NOT NULL);
    CREATE TABLE resumes (
        root_id TEXT NOT NULL,
        time REAL NOT NULL,
        replayed_calls INTEGER NOT NULL,
        replayed_tools INTEGER NOT NULL
    );
    CREATE TABLE outcomes (root_id TEXT PRIMARY KEY, outcome TEXT NOT NULL, source TEXT, time REAL NOT NULL);
    """,
    # 2 -> 3: which process is writing a run (a lease), and resumes forced past a changed context
    """
    CREATE TABLE leases (root_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, time REAL NOT NULL);
    ALTER TABLE resumes ADD COLUMN forced INTEGER NOT NULL DEFAULT 0;
    """,
    # 3 -> 4: an outcome's score (ponder eval: partial credit, a judge's verdict), beside correct/incorrect
    """
    ALTER TABLE outcomes ADD COLUMN score REAL;
    """,
    # 4 -> 5: completions of deterministic calls, reused by later runs (--cache; see ponder.engine.call_cache)
    """
    CREATE TABLE completions (key TEXT PRIMARY KEY, model TEXT NOT NULL, completion TEXT NOT NULL, time REAL NOT NULL);
    """,
    # 5 -> 6: named REPL sessions of recursive code mode (--session), their turns and code cells
    """
    CREATE TABLE repl_sessions (name TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL);
    CREATE TABLE repl_session_turns (
        name TEXT NOT NULL,
        turn INTEGER NOT NULL,
        question TEXT NOT NULL,
        context BLOB NOT NULL,
        status TEXT NOT NULL,
        answer TEXT,
        history TEXT NOT NULL,
        time REAL NOT NULL,
        PRIMARY KEY (name, turn)
    );
    CREATE TABLE repl_session_cells (
        name TEXT NOT NULL,
        turn INTEGER NOT NULL,
        cell INTEGER NOT NULL,
        code TEXT NOT NULL,
        calls TEXT NOT NULL,
        PRIMARY KEY (name, turn, cell)
    );
    """,
    # 6 -> 7: how much of each event journal is in the events table (see ponder.store.journal)
    """
    CREATE TABLE event_journals (name TEXT PRIMARY KEY, consumed INTEGER NOT NULL);
    """,
    # 7 -> 8: a session cell's fate (ran, or lost its worker), its own seconds, and the values kept of a slow one
    """
    ALTER TABLE repl_session_cells ADD COLUMN status TEXT NOT NULL DEFAULT 'ran';
    ALTER TABLE repl_session_cells ADD COLUMN seconds REAL;
    ALTER TABLE repl_session_cells ADD COLUMN snapshot BLOB;
    ALTER TABLE repl_session_cells ADD COLUMN unkept TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(location: Path | str, *, upto: int = SCHEMA_VERSION, readonly: bool = False) -> Database:
    """Open (creating if needed) the store at ``location`` (a file, or a ``postgresql://`` URL) and
    migrate it to version ``upto``.

    ``readonly``: for commands that only read. A missing file is an error (nothing is created at a
    mistyped path), and the file is opened read-only, so a store on a read-only mount can be read; a
    store of an older schema is migrated first when the file can be written."""
    if isinstance(location, str) and is_url(location):
        return _connect_postgres(location, upto)
    path = Path(location)
    if readonly:
        conn = _open_readonly(path)
        if conn is not None:
            return Database(conn, "sqlite", str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the store directory {path.parent}: {exc.strerror}") from None
    try:
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the run store {path}: {exc}") from None
    conn.text_factory = _text
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        app_id, version, tables = _identity(conn)
        if app_id != APPLICATION_ID and (app_id != 0 or tables):
            # another process may be creating the store right now: look again once its write is done
            conn.execute("BEGIN IMMEDIATE")
            try:
                app_id, version, tables = _identity(conn)
            finally:
                conn.execute("COMMIT")
        if app_id != APPLICATION_ID and (app_id != 0 or tables):
            raise StoreError(f"{path} is not a ponder run store (another application's SQLite file)")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the run store {path} has schema version {version}; this ponder knows up to {SCHEMA_VERSION} (upgrade ponder)"
            )
        _wal(conn)
        # WAL with synchronous=NORMAL: a commit is in the log before it returns, so it survives the death of
        # the process (kill -9, a crash); an OS crash or power loss may lose the last commits, never the file
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn, version, upto)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{path} is not a usable ponder run store ({exc})") from None
    except BaseException:
        conn.close()
        raise
    return Database(conn, "sqlite", str(path))


def _text(data: bytes) -> str:
    """A TEXT value as read: a row written by hand may hold bytes that are not UTF-8 (see :mod:`ponder.guards.text`)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return decode(data)


def _open_readonly(path: Path) -> sqlite3.Connection | None:
    """``path`` opened read-only, or None when its schema is older and must be migrated by a writable open."""
    if not path.is_file():
        raise StoreError(f"no run store at {path}" + (" (a directory)" if path.is_dir() else ""))
    uri = path.resolve().as_uri()
    conn = None
    try:
        for query in ("?mode=ro", "?mode=ro&immutable=1"):  # immutable: a read-only mount, where no -shm can be made
            try:
                conn = sqlite3.connect(
                    uri + query, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False
                )
                conn.text_factory = _text
                conn.execute("PRAGMA busy_timeout = 30000")
                app_id, version, tables = _identity(conn)
                break
            except sqlite3.OperationalError:
                if conn is not None:
                    conn.close()
                    conn = None
                if query.endswith("immutable=1"):
                    raise
        assert conn is not None
        if app_id != APPLICATION_ID and (app_id != 0 or tables):
            raise StoreError(f"{path} is not a ponder run store (another application's SQLite file)")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the run store {path} has schema version {version}; this ponder knows up to {SCHEMA_VERSION} (upgrade ponder)"
            )
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        raise StoreError(f"{path} is not a usable ponder run store ({exc})") from None
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    if version < SCHEMA_VERSION:
        conn.close()
        return None
    return conn


def _wal(conn: sqlite3.Connection, wait: float = 10.0) -> None:
    """Switch to WAL. SQLite answers "database is locked" at once (no busy wait) while another process
    opens the same new file, so try again for a while."""
    deadline = time.monotonic() + wait
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _identity(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """The file's application id, schema version and number of schema objects."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return int(app_id), int(version), int(tables)


def _migrate(conn: sqlite3.Connection, version: int, upto: int) -> None:
    while version < upto:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current == version:  # another process may have migrated meanwhile
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = conn.execute("PRAGMA user_version").fetchone()[0]


#: SQLite's types as PostgreSQL spells them (REAL is 4 bytes there: a timestamp would lose minutes)
_PG_TYPES = (("REAL", "DOUBLE PRECISION"), ("INTEGER", "BIGINT"), ("BLOB", "BYTEA"))


def _connect_postgres(url: str, upto: int) -> Database:
    where = redact(url)
    try:
        import psycopg
    except ImportError:
        raise StoreError(f"a PostgreSQL store ({where}) needs psycopg: pip install 'ponder-rlm[postgres]'") from None
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise StoreError(f"cannot open the run store {where}: {str(exc).strip().splitlines()[0]}") from None
    db = Database(conn, "postgresql", where)
    try:
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(?)", (APPLICATION_ID,))
            db.execute("CREATE TABLE IF NOT EXISTS ponder_store (application TEXT NOT NULL, version INTEGER NOT NULL)")
            row = db.execute("SELECT application, version FROM ponder_store").fetchone()
            if row is None:
                db.execute("INSERT INTO ponder_store (application, version) VALUES ('ponder', 0)")
                version = 0
            else:
                version = int(row[1])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the run store {where} has schema version {version}; this ponder knows up to {SCHEMA_VERSION}"
                    " (upgrade ponder)"
                )
            while version < upto:
                sql = MIGRATIONS[version]
                for old, new in _PG_TYPES:
                    sql = re.sub(rf"\b{old}\b", new, sql)
                for statement in sql.split(";"):
                    if statement.strip():
                        db.execute(statement)
                version += 1
                db.execute("UPDATE ponder_store SET version = ?", (version,))
    except BaseException:
        conn.close()
        raise
    return db
