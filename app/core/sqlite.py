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

import collections
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


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass of the one it replaces

    def _in_transaction(self) -> bool:
        connection: Any = self._connection
        return connection._connection is not None and bool(connection._conn.in_transaction)

    # A read opens no SQLite transaction (the driver begins one before a write only), so
    # ending a read's session, and the pool's reset after it, would be two trips to roll back
    # nothing: a connection not in a transaction skips them.
    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        return OneTripConnection(self, super().connect(*arg, **kw)._connection)


def dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
