"""SQLite through aiosqlite, one thread trip per statement instead of four.

aiosqlite runs each DB-API call on the connection's own thread and wakes the event loop with
the answer. SQLAlchemy's adapter makes four such trips for a statement (open a cursor,
execute, fetch the rows, close the cursor), and on this service's list reads those trips, not
SQLite, were where the time went: each wakes a thread and hands the GIL over twice. This
cursor does the same four steps in one function on aiosqlite's thread, so a statement costs
one trip; and a rollback or commit with no transaction open costs none. Everything else (the
connection, transactions, errors, the pool) is SQLAlchemy's aiosqlite dialect unchanged;
`create_engine` passes `dbapi()` to it as its DB-API module.
"""

from __future__ import annotations

import asyncio
import collections
import re
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT


def _run(
    connection: sqlite3.Connection, operation: Any, parameters: Any, many: bool
) -> tuple[Any, int, Any, list[Any]]:
    """On aiosqlite's thread: the whole statement, and what the cursor knew of it."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one trip; no aiosqlite cursor of its own."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # nothing to open, nothing to close
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: Any = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    async def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        connection: Any = self._connection  # an aiosqlite.Connection; _execute queues a call on its thread
        if WRITES.match(operation):
            await self._adapt_connection.take_writers_turn()  # type: ignore[attr-defined]
        async with self._adapt_connection._execute_mutex:
            found = await connection._execute(_run, connection._conn, operation, parameters, many)
        self._description, self._rowcount, self._lastrowid, rows = found
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._run(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        return None  # the rows are already here; there is no cursor to close

    def close(self) -> None:
        self._rows.clear()


# Statements before which the driver begins a transaction that takes SQLite's write lock.
WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Writers take turns: SQLite lets one transaction write at a time, and one that finds the
    lock taken sleeps and tries again (1, 2, 5 ... 100 ms), so under a load of writes some
    waited seconds while others slipped in. A connection about to write first waits for its
    turn on an asyncio lock shared by the engine's connections, first come first served, and
    gives it back when its transaction ends. SQLite's own lock still decides; this only orders
    the writers of this process (one server serves a SQLite database) so none is starved."""

    __slots__ = ("_has_turn",)
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass of the one it replaces

    def __init__(self, dbapi: OneTripDBAPI, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._has_turn = False

    async def take_writers_turn(self) -> None:
        if not self._has_turn:
            await self.dbapi.writers.acquire()
            self._has_turn = True

    def _end_turn(self) -> None:
        if self._has_turn:
            self._has_turn = False
            self.dbapi.writers.release()

    def _in_transaction(self) -> bool:
        connection: Any = self._connection
        return connection._connection is not None and bool(connection._conn.in_transaction)

    # A read opens no SQLite transaction (the driver begins one before a write only), so
    # ending a read's session, and the pool's reset after it, would be two trips to roll back
    # nothing: a connection not in a transaction skips them.
    def rollback(self) -> None:
        try:
            if self._in_transaction():
                super().rollback()
        finally:
            self._end_turn()

    def commit(self) -> None:
        try:
            if self._in_transaction():
                super().commit()
        finally:
            self._end_turn()

    def close(self) -> None:
        self._end_turn()
        super().close()

    def terminate(self) -> None:
        self._end_turn()
        super().terminate()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self, aiosqlite: Any, sqlite: Any) -> None:
        super().__init__(aiosqlite, sqlite)
        self.writers = asyncio.Lock()  # one engine's writers, in turn (OneTripConnection)

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        return OneTripConnection(self, super().connect(*arg, **kw)._connection)


def dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
