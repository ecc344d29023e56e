"""Statements compiled once and run straight on the driver connection of the caller's transaction.

The async ORM spends about 0.3 ms of CPU on each statement (building it, looking it up in the compiled
cache, flushing objects, loading rows into objects) against about 0.1 ms for psycopg itself. The changes a
community makes in bursts (creating and approving requests) and the activity and notifications every
change writes run through here; everything else uses the ORM. The statements are still SQLAlchemy Core,
written where their rule lives, so their locks and conditions read the same as anywhere else.

A statement runs inside the unit of work's own transaction: ORM changes flushed before it are visible to
it, and it commits or rolls back with them. In a lean unit (`Database.unit`) statements go through
core.db.wire, libpq's pipeline without psycopg's cursors; in an ORM session through psycopg's cursors.
Either way each is prepared on the server the first time a connection sends it (psycopg would wait for
five uses): these are the statements sent thousands of times.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, NamedTuple, ParamSpec, TypeVar, cast, overload

import psycopg
from psycopg import AsyncCursor
from sqlalchemy.dialects.postgresql.psycopg import PGDialectAsync_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from core.db import wire
from core.db.session import Unit, Work, driver_connection, note_write, reads_only

__all__ = ["Call", "CompilerParts", "Planned", "Prepared", "both", "compiler_parts", "sent_at_once", "together"]

_DIALECT = PGDialectAsync_psycopg()  # type: ignore[no-untyped-call]


R = TypeVar("R", covariant=True)


def _names_of(shape: type[Any]) -> list[str]:
    """The attribute names a row shape has: a NamedTuple's fields, or a mapped model's columns."""
    fields = getattr(shape, "_fields", None)
    if fields is not None:
        return list(fields)
    table = getattr(shape, "__table__", None)
    if table is None:
        raise TypeError(f"{shape.__name__} is neither a NamedTuple nor a mapped model")
    return [column.key for column in table.columns]


class CompilerParts(NamedTuple):
    processors: Mapping[str, Callable[[Any], Any]]  # bind name -> how its value is sent
    names: list[str]  # the result columns' names, in order
    loaders: Sequence[tuple[int, Callable[[Any], Any]]]  # result column index -> how its value is read


def compiler_parts(compiled: SQLCompiler) -> CompilerParts:
    """What the ORM itself uses to send values and read rows, taken from the compiled statement.

    SQLAlchemy has no public API for these; this is the one place idkarr reads its private attributes
    (`SQLCompiler._bind_processors`, `SQLCompiler._result_columns`, `TypeEngine._cached_result_processor`).
    tests/test_prepared.py checks each is still there and shaped as used, and fails naming the one that
    changed after an upgrade.
    """
    processors = {name: processor for name, processor in compiled._bind_processors.items() if callable(processor)}
    columns = compiled._result_columns
    loaders = [
        (index, loader)
        for index, column in enumerate(columns)
        if (loader := column.type._cached_result_processor(_DIALECT, None)) is not None
    ]
    return CompilerParts(processors, [column.keyname for column in columns], loaders)


class Prepared(Generic[R]):
    """One statement: its SQL, its fixed values and how each value is sent, worked out once at import.

    Its rows are named tuples of the columns it returns. Given a `shape` (a model, a NamedTuple), they are
    typed as it: the statement must then return at least every column the shape has, under the same
    names, which is checked here, at import (a model's row read as the model: see requests/common.py)."""

    @overload
    def __init__(self: Prepared[Any], statement: ClauseElement) -> None: ...
    @overload
    def __init__(self: Prepared[R], statement: ClauseElement, shape: type[R]) -> None: ...

    def __init__(self, statement: ClauseElement, shape: type[Any] | None = None) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=_DIALECT))
        self.sql = str(compiled)
        self.writes = not reads_only(self.sql)
        self._wire_sql, self._order = _numbered(self.sql)
        if "POSTCOMPILE" in self.sql:
            # An IN list would be rewritten for each call; an array parameter keeps the SQL fixed.
            raise ValueError("write `column == any_(array parameter)` instead of an IN list: " + self.sql)
        self._required = frozenset(name for name, bind in compiled.binds.items() if bind.required)
        inside = compiler_parts(compiled)
        # Values are converted as the ORM would send them (enums by value, JSON wrapped for psycopg).
        self._processors = inside.processors
        self._fixed = {
            name: self._send(name, value) for name, value in compiled.params.items() if name not in self._required
        }
        # Each $n's name and how its value is sent, in order: what `_wire_values` walks for every call.
        self._senders = [(name, self._processors.get(name)) for name in self._order]
        # Rows come back as the ORM would give them: enum columns as their enums.
        self._returns = bool(inside.names)
        self._row: type[Any] = namedtuple("Row", inside.names, rename=True)  # type: ignore[misc]
        self._loaders = inside.loaders
        if shape is not None:
            missing = [name for name in _names_of(shape) if name not in inside.names]
            if missing:
                raise ValueError(f"rows typed as {shape.__name__} need {missing}, which the statement does not return")

    def _send(self, name: str, value: Any) -> Any:
        processor = self._processors.get(name)
        return processor(value) if processor is not None and value is not None else value

    def _parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        missing = self._required - values.keys()
        if missing:
            raise TypeError(f"missing values for {sorted(missing)}")
        return {**self._fixed, **{name: self._send(name, value) for name, value in values.items()}}

    async def rows(self, session: Work, **values: Any) -> list[R]:
        """Every row, as a named tuple."""
        if isinstance(session, Unit):
            return (await _exchange(session, [(self, values)]))[0]
        cursor = (await driver_connection(session)).cursor()
        if self.writes:
            note_write(session)
        parameters = self._parameters(values)
        try:
            await cursor.execute(self.sql, parameters, prepare=True)
        except psycopg.Error as error:
            # Callers catch what the ORM raises (IntegrityError for a lost race on a unique index).
            raise DBAPIError.instance(self.sql, parameters, error, psycopg.Error) from error
        return await self._fetch(cursor)

    def _wire_values(self, values: Mapping[str, Any]) -> list[Any]:
        """The values as core.db.wire sends them, in the order of the SQL's $n parameters: each converted
        once, and values the SQL does not use left alone."""
        fixed = self._fixed
        sent = []
        try:
            for name, processor in self._senders:
                if name in values:
                    value = values[name]
                    sent.append(value if processor is None or value is None else processor(value))
                else:
                    sent.append(fixed[name])
        except KeyError:
            raise TypeError(f"missing values for {sorted(self._required - values.keys())}") from None
        return sent

    async def _fetch(self, cursor: AsyncCursor[Any]) -> list[R]:
        if not self._returns:  # known here: `cursor.description` is dear, it builds every column each time
            return []
        return self._shaped(await cursor.fetchall())

    def _shaped(self, found: list[tuple[Any, ...]]) -> list[R]:
        if not self._loaders:
            return cast(list[R], [self._row(*values) for values in found])
        return cast(list[R], [self._load(values) for values in found])

    def _load(self, values: tuple[Any, ...]) -> Any:
        loaded = list(values)
        for index, loader in self._loaders:
            if loaded[index] is not None:
                loaded[index] = loader(loaded[index])
        return self._row(*loaded)

    def row(self, **values: Any) -> R:
        """A row shaped as this statement returns them, from `values` (columns not given are None): what a
        statement sent in the same round trip will return, for a plan that needs it before it is sent."""
        return cast(R, self._row(**{name: values.get(name) for name in self._row._fields}))

    async def first(self, session: Work, **values: Any) -> R | None:
        found = await self.rows(session, **values)
        return found[0] if found else None


# A statement with the values to run it with, as a batch (`together`) takes it: batches mix row shapes.
Call = tuple["Prepared[object]", Mapping[str, Any]]


async def together(session: Work, *calls: Call, last: bool = False) -> list[list[Any]]:
    """Independent statements sent at once and answered in one round trip (libpq's pipeline mode): their
    rows, in order.

    `last`: the unit of work sends nothing after these and nothing after them can refuse, so a lean unit's
    COMMIT goes in the same round trip (an ORM session commits when its block ends, as always).
    """
    if isinstance(session, Unit):
        return await _exchange(session, calls, last=last)
    if len(calls) == 1:  # a pipeline of one costs more than it saves
        statement, values = calls[0]
        return [await statement.rows(session, **values)]
    connection = await driver_connection(session)
    if any(statement.writes for statement, _ in calls):
        note_write(session)
    sent: list[tuple[Prepared[object], AsyncCursor[Any]]] = []
    try:
        async with connection.pipeline():
            for statement, values in calls:
                cursor = connection.cursor()
                await cursor.execute(statement.sql, statement._parameters(values), prepare=True)
                sent.append((statement, cursor))
    except psycopg.Error as error:
        raise DBAPIError.instance(_joined(calls), None, error, psycopg.Error) from error
    return [await statement._fetch(cursor) for statement, cursor in sent]


A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class Planned(Generic[A]):
    """Statements decided but not yet sent, with what to make of their answers: what several parts of a use
    case decide each on its own can still go in one round trip (`both`)."""

    calls: Sequence[Call]
    finish: Callable[[list[list[Any]]], A]

    async def run(self, session: Work, *, last: bool = False) -> A:
        """Sent, and finished with the answers; `last` as in `together`."""
        return self.finish(await together(session, *self.calls, last=last))

    def then(self, shape: Callable[[A], B]) -> Planned[B]:
        """The same statements, their result given the caller's `shape`."""
        return Planned(self.calls, lambda answers: shape(self.finish(answers)))


P = ParamSpec("P")


def sent_at_once(
    plan: Callable[Concatenate[Work, P], Awaitable[Planned[A]]],
) -> Callable[Concatenate[Work, P], Awaitable[A]]:
    """What `plan` decides, sent in a round trip of its own: the use case for a caller with nothing to add."""

    async def run(session: Work, /, *args: P.args, **options: P.kwargs) -> A:
        return await (await plan(session, *args, **options)).run(session)

    return run


async def both(session: Work, first: Planned[A], second: Planned[B], *, last: bool = False) -> tuple[A, B]:
    """Two plans sent together, in order, each finished with its own answers; `last` as in `together`."""
    answers = await together(session, *first.calls, *second.calls, last=last)
    split = len(first.calls)
    return first.finish(answers[:split]), second.finish(answers[split:])


async def _exchange(unit: Unit, calls: Sequence[Call], *, last: bool = False) -> list[list[Any]]:
    """A lean unit's statements, through core.db.wire."""
    if unit.info.get(_ENDED):
        raise RuntimeError("a statement after the unit of work's last round trip (together(..., last=True))")
    if any(statement.writes for statement, _ in calls):
        note_write(unit)
    ending = last and not unit.read_only
    if ending:
        unit.info[_ENDED] = True
    try:
        results = await wire.exchange(
            unit.connection,
            [(statement._wire_sql, statement._wire_values(values)) for statement, values in calls],
            begin=not unit.read_only,
            end=wire.COMMIT if ending else None,
        )
    except psycopg.Error as error:
        # Callers catch what the ORM raises (IntegrityError for a lost race on a unique index).
        raise DBAPIError.instance(_joined(calls), None, error, psycopg.Error) from error
    return [
        statement._shaped(wire.rows_of(unit.connection, result)) if statement._returns else []
        for (statement, _), result in zip(calls, results, strict=True)
    ]


_ENDED = "idkarr.ended"  # Unit.info: its COMMIT has been sent


def _joined(calls: Sequence[Call]) -> str:
    return "; ".join(statement.sql for statement, _ in calls)


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def _numbered(sql: str) -> tuple[bytes, list[str]]:
    """`sql` with psycopg's %(name)s placeholders as PostgreSQL's own $1, $2 ... (a name used twice is one
    number), and the names in that order."""
    order: list[str] = []

    def number(found: re.Match[str]) -> str:
        name = found.group(1)
        if name is None:
            return "%"
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    numbered = _PLACEHOLDER.sub(number, sql)
    if "%(" in numbered:
        raise ValueError("a placeholder core.db.wire cannot number: " + sql)
    return numbered.encode(), order
