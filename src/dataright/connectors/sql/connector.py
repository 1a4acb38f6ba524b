"""PostgreSQL, MariaDB/MySQL and SQLite through SQLAlchemy Core.

Every table's rows are found by one statement whose WHERE clause is the whole path from the identity
(``child.fk IN (SELECT parent.pk FROM parent WHERE parent.email = :e)``, nested once per hop), so the
database joins the path itself and nothing travels through Python but the rows read. An access request
reads every table in one statement (a UNION ALL of one branch per table, their columns in typed slots,
``rowslots``, or packed as JSON, ``rowjson``), compiled once per shape of request, read whole when the
person has up to one chunk of rows and streamed through a server-side cursor when they have more; erasure
of a table is one transaction: the person's keys are put into a temporary table first, so later
statements of the step still find the rows after an earlier one has changed the identity fields.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from functools import partial
from typing import Any, ClassVar

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    and_,
    bindparam,
    case,
    create_engine,
    delete,
    false,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, NoSuchTableError, SQLAlchemyError
from sqlalchemy.sql import FromClause

from dataright.connectors.base import (
    PSEUDONYM_PREFIX,
    CrossValues,
    DatasetMismatch,
    DatastoreUnavailable,
    HoldRule,
    Identities,
    Pseudonymiser,
    Section,
    StepResult,
    TableNode,
)
from dataright.connectors.sql import rowjson, rowslots
from dataright.connectors.sql.checks import erase_problems
from dataright.connectors.sql.url import resolve_url
from dataright.declarations.datasets import Dataset, Strategy
from dataright.declarations.datasets import Table as DeclaredTable
from dataright.storage.autocommit import AutocommitConnections
from dataright.storage.statements import OneStatement

PSEUDONYM_BATCH = 1_000
TEMP_KEYS = "dataright_erase_keys"


def _bind_name(table: str, column: str) -> str:
    return f"id_{table}_{column}"


class AccessPlan:
    """A compiled access statement and its capped twin, run again with each person's identity values."""

    def __init__(
        self,
        full: OneStatement,
        capped: OneStatement,
        kinds: dict[str, str],
        readers: Callable[[Sequence[Sequence[Any]]], list[rowslots.RowReader]],
    ) -> None:
        self.full = full
        self.capped = capped
        self._kinds = kinds
        """bind parameter name -> the identity kind whose value it takes"""
        self._make_readers = readers
        self.readers: list[rowslots.RowReader] | None = None
        """By table: how a row of the statement becomes ``{column: value}``; set from the first read's cursor
        description (a driver's type codes may decide how a value is read)."""

    def params(self, identities: Identities, *, capped: bool) -> Any:
        """The driver's parameters for the person (both statements hold the same binds)."""
        values = {name: identities[kind] for name, kind in self._kinds.items() if kind in identities}
        return (self.capped if capped else self.full).params(values)

    def learn(self, description: Sequence[Sequence[Any]]) -> None:
        if self.readers is None:
            self.readers = self._make_readers(description)


def _hop_name(hop: int, tables: Mapping[str, Any]) -> str:
    """The name of the table ``hop`` steps up a joined path: ``dr_hop<n>``, with underscores added until no
    table of the dataset has it."""
    taken = {table.lower() for table in tables}  # MariaDB and SQLite compare names regardless of case
    name = f"dr_hop{hop}"
    while name in taken:
        name = f"_{name}"
    return name


def _unique(table: Table, column: str) -> bool:
    """Whether the live table holds ``column`` unique on its own (its primary key, a unique constraint or index)."""
    if [c.name for c in table.primary_key.columns] == [column]:
        return True
    if any(isinstance(c, UniqueConstraint) and [x.name for x in c.columns] == [column] for c in table.constraints):
        return True
    return any(ix.unique and [x.name for x in ix.columns] == [column] for ix in table.indexes)


def _reason(exc: BaseException) -> str:
    """Why a statement failed, without the data a driver may quote (``Key (email)=(...)``)."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) if diag is not None else None
    if constraint:
        return f"{type(orig).__name__} on constraint {constraint}"
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if "Key (" in first or "Duplicate entry" in first:
        return type(orig).__name__
    return f"{type(orig).__name__}: {first[:200]}"


class SqlConnector:
    kind: ClassVar[str] = "sql"

    def __init__(self, dataset: Dataset, *, environ: Mapping[str, str], base_dir: str | None = None) -> None:
        self.dataset = dataset
        assert dataset.url is not None
        self.url = resolve_url(dataset.url, environ, where=f"dataset {dataset.id}")
        # no ping before each checkout (a round trip per request): a connection the server dropped fails its
        # statement as a disconnect, the pool is emptied, and the engine retries the step (DatastoreUnavailable)
        # LIFO: a worker's requests one after another reuse the connection they just used, whose statements the
        # driver has prepared (psycopg prepares a statement on a connection after a few runs on it), instead of
        # cycling through the pool and planning the access statement again on each connection
        self.engine: Engine = create_engine(self.url, pool_recycle=1800, pool_use_lifo=True)
        self._meta = MetaData()
        self._tables: dict[str, Table] = {}
        self._referenced_by: dict[str, list[tuple[str, dict[str, Any]]]] | None = None
        self._dry: Connection | None = None
        self._plans: dict[Any, AccessPlan] = {}
        self._readers = AutocommitConnections(self.engine)

    # -- the live schema ---------------------------------------------------------------------
    def table(self, name: str) -> Table:
        found = self._tables.get(name)
        if found is None:
            try:
                found = Table(name, self._meta, autoload_with=self.engine)
            except NoSuchTableError:
                raise DatasetMismatch([f"{self.dataset.id}.{name}: no such table in the datastore"]) from None
            except (DBAPIError, SQLAlchemyError) as exc:
                raise DatastoreUnavailable(self.dataset.id, _reason(exc), name) from None
            self._tables[name] = found
        return found

    def referenced_by(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """(table, foreign key) for every foreign key in the datastore that points at table ``name``."""
        if self._referenced_by is None:
            found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            try:
                inspector = inspect(self.engine)
                for other in inspector.get_table_names():
                    for fk in inspector.get_foreign_keys(other):
                        found.setdefault(fk["referred_table"], []).append((other, dict(fk)))
            except (DBAPIError, SQLAlchemyError) as exc:
                raise DatastoreUnavailable(self.dataset.id, _reason(exc)) from None
            self._referenced_by = found
        return self._referenced_by.get(name, [])

    def primary_key(self, declared: DeclaredTable) -> list[Column[Any]]:
        t = self.table(declared.name)
        if declared.primary_key:
            return [t.c[c] for c in declared.primary_key]
        return list(t.primary_key.columns)

    def check(self, nodes: Sequence[TableNode], operation: str) -> list[str]:
        problems: list[str] = []
        for node in nodes:
            where = f"{self.dataset.id}.{node.table.name}"
            try:
                t = self.table(node.table.name)
            except DatasetMismatch as exc:
                problems.extend(exc.problems)
                continue
            wanted = [f.name for f in node.table.fields] + list(node.table.primary_key)
            wanted += [e.child_field for e in node.edges_in]
            if node.table.hold_from:
                wanted.append(node.table.hold_from)
            for column in dict.fromkeys(wanted):
                if column not in t.c:
                    problems.append(f"{where}: column {column!r} is not in the live table (schema drift?)")
            if operation != "access" and not self.primary_key(node.table):
                problems.append(f"{where}: no primary key (declare primary_key for the table)")
        if problems or operation != "erase":
            return problems
        by_table = {n.table.name: n for n in nodes}
        for node in nodes:
            problems.extend(erase_problems(self, node, by_table))
        return problems

    # -- finding the person's rows -----------------------------------------------------------
    def predicate(
        self,
        node: TableNode,
        nodes: Mapping[str, TableNode],
        ids: Identities,
        cross: CrossValues,
        *,
        named: bool = False,
        on: FromClause | None = None,
    ) -> Any:
        """Whether a row of ``node`` is the person's. ``named``: each identity value is a bind parameter named
        after its column (``id_<table>_<column>``), so the compiled statement can be kept and run again with
        another person's values (``AccessPlan``). ``on``: the table under another name (an alias in a join)."""
        t = on if on is not None else self.table(node.table.name)
        conditions: list[Any] = []
        for name in node.identity_fields:
            kind = node.table.field_by_name[name].identity
            if kind is not None and kind in ids:
                value: Any = ids[kind]
                if named:
                    value = bindparam(_bind_name(node.table.name, name), ids[kind], type_=t.c[name].type)
                conditions.append(t.c[name] == value)
        for edge in node.edges_in:
            if edge.parent.dataset == self.dataset.id:
                parent = nodes[edge.parent.table]
                pt = self.table(parent.table.name)
                inner = (
                    select(pt.c[edge.parent_field])
                    .where(self.predicate(parent, nodes, ids, cross, named=named))
                    .correlate(None)  # a path of its own, never tied to a table of the statement around it
                )
                conditions.append(t.c[edge.child_field].in_(inner))
            else:
                values = list(cross.get((edge.parent, edge.parent_field), ()))
                if values:
                    conditions.append(t.c[edge.child_field].in_(values))
        return or_(*conditions) if conditions else false()

    def _found(
        self,
        node: TableNode,
        nodes: Mapping[str, TableNode],
        ids: Identities,
        cross: CrossValues,
        on: FromClause | None = None,
        hop: int = 0,
    ) -> tuple[FromClause, Any]:
        """FROM and WHERE that find the person's rows of ``node`` for an access request. A table reached by one
        reference alone, to a parent key the database holds unique (so a join never repeats a row), is joined
        up that path (``order_items JOIN orders AS dr_hop1 JOIN customers AS dr_hop2 WHERE dr_hop2.email =
        :e``), as a hand-written query would be; any other table is found by its predicate (``IN`` the
        parents' keys, or its own identity fields). Each table up the path takes a name of its own, chosen
        apart from the dataset's table names (SQLAlchemy's own, ``customers_1``, could be a table's)."""
        t = on if on is not None else self.table(node.table.name)
        found_here = any(node.table.field_by_name[name].identity in ids for name in node.identity_fields)
        if not found_here and len(node.edges_in) == 1:
            edge = node.edges_in[0]
            if edge.parent.dataset == self.dataset.id:
                parent = nodes[edge.parent.table]
                pt = self.table(parent.table.name)
                if _unique(pt, edge.parent_field):
                    alias = pt.alias(_hop_name(hop + 1, nodes))
                    parent_from, parent_where = self._found(parent, nodes, ids, cross, alias, hop + 1)
                    return t.join(parent_from, t.c[edge.child_field] == alias.c[edge.parent_field]), parent_where
        return t, self.predicate(node, nodes, ids, cross, named=True, on=t)

    def _columns(self, node: TableNode) -> list[Column[Any]]:
        t = self.table(node.table.name)
        names = [c.name for c in self.primary_key(node.table)] + [f.name for f in node.table.fields]
        return [t.c[n] for n in dict.fromkeys(names)]

    def access(
        self, nodes: Sequence[TableNode], identities: Identities, cross: CrossValues, *, chunk_rows: int
    ) -> Iterator[Section]:
        """Every table's rows in one statement (``rowjson``); sections of at most ``chunk_rows``.

        The statement first runs capped at ``chunk_rows + 1`` rows: most people have a few rows, which come
        back in one round trip of a statement the driver has prepared. Only when the cap is passed does it
        run again through a server-side cursor, streamed in chunks, so memory stays flat for a person with
        millions of rows (that first, capped read is dropped, not mixed in).
        """
        plan = self._access_plan(nodes, identities, cross, chunk_rows)
        if plan is None:
            return
        try:
            first = self._read_capped(plan, identities)
            if len(first) <= chunk_rows:
                yield from self._sections(nodes, plan, first, chunk_rows)
                return
            del first
            with self.engine.connect() as conn:  # a server-side cursor lives in a transaction
                streamed = conn.execution_options(stream_results=True, yield_per=chunk_rows)
                yield from self._sections(
                    nodes,
                    plan,
                    streamed.exec_driver_sql(plan.full.sql, plan.params(identities, capped=False)),
                    chunk_rows,
                )
        except (DBAPIError, SQLAlchemyError) as exc:
            raise DatastoreUnavailable(self.dataset.id, _reason(exc)) from None

    def _read_capped(self, plan: AccessPlan, identities: Identities) -> list[Any]:
        """The capped statement on a driver connection in autocommit (``AutocommitConnections``): one statement
        is one consistent snapshot, so there is no transaction to open and roll back around it. It runs on the
        driver's cursor: this is the hot path of every access request, and SQLAlchemy's Connection around it
        cost as much as the query."""
        params = plan.params(identities, capped=True)

        def read(conn: Any) -> list[Any]:
            cursor = conn.cursor()
            try:
                cursor.execute(plan.capped.sql, params)
                if plan.readers is None:  # psycopg builds its description anew on each call
                    plan.learn(cursor.description)
                return list(cursor.fetchall())
            finally:
                cursor.close()

        try:
            return self._readers.run(read)
        except self.engine.dialect.loaded_dbapi.Error as exc:
            raise DatastoreUnavailable(self.dataset.id, _reason(exc)) from None

    def _sections(
        self, nodes: Sequence[TableNode], plan: AccessPlan, rows: Iterable[Any], chunk_rows: int
    ) -> Iterator[Section]:
        readers = plan.readers
        assert readers is not None  # the capped read, always the first, has set them
        buffers: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            index = int(row[0])
            buffer = buffers.get(index)
            if buffer is None:
                buffer = buffers[index] = []
            buffer.append(readers[index](row))
            if len(buffer) >= chunk_rows:
                yield Section(self.dataset.id, nodes[index].table.name, buffer)
                buffers[index] = []
        for index in sorted(buffers):
            if buffers[index]:
                yield Section(self.dataset.id, nodes[index].table.name, buffers[index])

    def _access_plan(
        self, nodes: Sequence[TableNode], identities: Identities, cross: CrossValues, chunk_rows: int
    ) -> AccessPlan | None:
        """The access statement for these tables and identity kinds, compiled once and kept (a worker runs the
        same shape of request again and again); a statement that carries values read from another datastore
        (``cross``) is built for its request alone. Rows travel in typed slots (``rowslots``) where the
        database allows, as JSON objects (``rowjson``) where it does not."""
        crossing = any(e.parent.dataset != self.dataset.id for n in nodes for e in n.edges_in)
        key = (tuple((n.table.name, n.identity_fields) for n in nodes), tuple(sorted(identities)), chunk_rows)
        if not crossing and key in self._plans:
            return self._plans[key]
        if not nodes:
            return None
        by_table = {n.table.name: n for n in nodes}
        dialect = self.engine.dialect
        columns = [self._columns(node) for node in nodes]
        layout = rowslots.Layout(dialect, columns) if dialect.name in rowslots.DIALECTS else None
        if layout is not None and layout.width > rowslots.MAX_SLOTS:
            layout = None
        branches = []
        for i, node in enumerate(nodes):
            found, where = self._found(node, by_table, identities, cross)
            packed = (
                layout.branch_columns(i)
                if layout is not None
                else [rowjson.json_object(dialect.name, columns[i]).label("j")]
            )
            branches.append(select(literal_column(str(i)).label("n"), *packed).select_from(found).where(where))
        statement = branches[0] if len(branches) == 1 else union_all(*branches)
        person = statement.subquery("person")
        capped: Any = select(*person.c).limit(chunk_rows + 1)
        kinds = {
            _bind_name(n.table.name, name): kind
            for n in nodes
            for name in n.identity_fields
            if (kind := n.table.field_by_name[name].identity) is not None
        }
        readers = layout.readers if layout is not None else partial(rowjson.readers, columns)
        plan = AccessPlan(OneStatement(statement, dialect), OneStatement(capped, dialect), kinds, readers)
        if not crossing:
            self._plans[key] = plan
        return plan

    def values(
        self, nodes: Sequence[TableNode], target: TableNode, column: str, identities: Identities, cross: CrossValues
    ) -> list[Any]:
        by_table = {n.table.name: n for n in nodes}
        t = self.table(target.table.name)
        stmt = select(t.c[column]).distinct().where(self.predicate(target, by_table, identities, cross))
        try:
            with self.engine.connect() as conn:
                return [v for v in conn.execute(stmt).scalars() if v is not None]
        except (DBAPIError, SQLAlchemyError) as exc:
            raise DatastoreUnavailable(self.dataset.id, _reason(exc), target.table.name) from None

    # -- changing them ----------------------------------------------------------------------
    def _step(self, target: TableNode, dry_run: bool, work: Any) -> StepResult:
        """Run ``work(conn, result)`` in one transaction.

        A dry run does every step of the request in one transaction on one connection that is rolled back
        when the connector closes: later steps see what earlier ones would have done (a row deleted by one
        step no longer blocks the next), so the counts are exactly those of a real run.
        """
        result = StepResult(self.dataset.id, target.table.name)
        started = time.perf_counter()
        try:
            if dry_run:
                if self._dry is None:
                    self._dry = self.engine.connect()
                    self._dry.begin()
                work(self._dry, result)
            else:
                with self.engine.begin() as conn:
                    work(conn, result)
        except IntegrityError as exc:
            raise DatasetMismatch([f"{self.dataset.id}.{target.table.name}: {_reason(exc)}"]) from None
        except (DBAPIError, SQLAlchemyError) as exc:
            raise DatastoreUnavailable(self.dataset.id, _reason(exc), target.table.name) from None
        result.ms = int((time.perf_counter() - started) * 1000)
        return result

    def _keys_table(
        self, conn: Connection, target: TableNode, where: Any, *, limit: int | None = None
    ) -> tuple[Table, Any, int]:
        """A temporary table of the person's keys in ``target``; (it, 'row is the person's', row count).

        With ``limit``: only the first ``limit`` keys in key order (one batch of a retention sweep)."""
        pk = self.primary_key(target.table)
        meta = MetaData()
        keys = Table(TEMP_KEYS, meta, *(Column(c.name, c.type, primary_key=True) for c in pk), prefixes=["TEMPORARY"])
        self._drop_keys(conn)
        keys.create(conn)
        src = self.table(target.table.name)
        found = select(*pk).where(where)
        if limit is not None:
            found = found.order_by(*pk).limit(limit)
        conn.execute(insert(keys).from_select([c.name for c in pk], found))
        count = int(conn.execute(select(func.count()).select_from(keys)).scalar_one())
        if len(pk) == 1:
            mine = pk[0].in_(select(keys.c[pk[0].name]))
        else:
            mine = tuple_(*pk).in_(select(*(keys.c[c.name] for c in pk)))
        del src
        return keys, mine, count

    def _drop_keys(self, conn: Connection) -> None:
        if conn.dialect.name in ("mysql", "mariadb"):
            conn.execute(text(f"DROP TEMPORARY TABLE IF EXISTS {TEMP_KEYS}"))
        else:
            conn.execute(text(f"DROP TABLE IF EXISTS {TEMP_KEYS}"))

    def _random(self, conn: Connection, column: Column[Any]) -> Any:
        length = getattr(column.type, "length", None) or 32
        n = max(8, min(32, length))
        if conn.dialect.name == "postgresql":
            return func.substr(func.md5(func.random().cast(String)), 1, n)
        if conn.dialect.name in ("mysql", "mariadb"):
            return func.substring(func.md5(func.rand()), 1, n)
        return func.substr(func.lower(func.hex(func.randomblob(16))), 1, n)

    def _erased_value(self, conn: Connection, t: Table, name: str, strategy: Strategy, value: Any) -> Any:
        if strategy is Strategy.null:
            return None
        if strategy is Strategy.redact:
            return literal(value, t.c[name].type)
        return self._random(conn, t.c[name])

    def erase(
        self,
        nodes: Sequence[TableNode],
        target: TableNode,
        identities: Identities,
        cross: CrossValues,
        *,
        pseudonymise: Pseudonymiser,
        holds: Mapping[str, HoldRule],
        dry_run: bool,
    ) -> StepResult:
        by_table = {n.table.name: n for n in nodes}

        def work(conn: Connection, result: StepResult) -> None:
            keys, mine, result.rows = self._keys_table(
                conn, target, self.predicate(target, by_table, identities, cross)
            )
            self.erase_rows(conn, target.table, mine, pseudonymise=pseudonymise, holds=holds, result=result)
            self._drop_keys(conn)
            del keys

        return self._step(target, dry_run, work)

    def held_predicate(self, declared: DeclaredTable, holds: Mapping[str, HoldRule]) -> Any | None:
        """'A legal hold keeps this row' for ``declared``, or None when no hold applies to the table."""
        t = self.table(declared.name)
        held_fields = {f.name: f.legal_hold for f in declared.fields if f.legal_hold}
        rule = holds.get(next(iter(held_fields.values()))) if held_fields else None
        if rule is None:
            return None
        if rule.cutoff is None or declared.hold_from is None:
            return true()
        return t.c[declared.hold_from] >= rule.cutoff

    def erase_rows(
        self,
        conn: Connection,
        declared: DeclaredTable,
        mine: Any,
        *,
        pseudonymise: Pseudonymiser,
        holds: Mapping[str, HoldRule],
        result: StepResult,
    ) -> None:
        """Erase the rows of ``declared`` that ``mine`` selects, as the table declares: delete the row or apply
        each field's strategy; legal holds keep their fields (and, for ``delete_row`` tables, the row, whose
        other fields are erased). Counts go into ``result``. Shared by rights requests and retention sweeps."""
        t = self.table(declared.name)
        held_fields = {f.name: f.legal_hold for f in declared.fields if f.legal_hold}
        rule = self.held_predicate(declared, holds)
        held: Any = false() if rule is None else rule
        if rule is not None:
            result.held_rows = int(conn.execute(select(func.count()).select_from(t).where(mine, held)).scalar_one())
            if result.held_rows:
                result.kept = {name: str(hold) for name, hold in held_fields.items()}
        if declared.erasure == "delete_row":
            gone = conn.execute(delete(t).where(mine, not_(held)) if rule is not None else delete(t).where(mine))
            result.deleted = int(gone.rowcount or 0)
            targets = [(f, held) for f in declared.fields if f.erasure is not None and not f.legal_hold]
        else:
            targets = [(f, None) for f in declared.fields if f.erasure is not None and not f.legal_hold]
            targets += [(f, not_(held)) for f in declared.fields if f.erasure is not None and f.legal_hold]
        plain: dict[str, list[tuple[str, Any]]] = {}
        for f, scope in targets:
            assert f.erasure is not None
            where = mine if scope is None else and_(mine, scope)
            if f.erasure.strategy is Strategy.pseudonymise:
                result.fields[f.name] = self._pseudonymise(conn, t, f.name, where, pseudonymise)
            else:
                value = self._erased_value(conn, t, f.name, f.erasure.strategy, f.erasure.value)
                plain.setdefault("all" if scope is None else "scoped", []).append((f.name, value))
        for group, assignments in plain.items():
            where = mine if group == "all" else and_(mine, not_(held) if declared.erasure == "fields" else held)
            if not assignments:
                continue
            changed = conn.execute(update(t).where(where).values({n: v for n, v in assignments}))
            for name, _ in assignments:
                result.fields[name] = result.fields.get(name, 0) + int(changed.rowcount or 0)

    def _pseudonymise(self, conn: Connection, t: Table, name: str, where: Any, pseudonymise: Pseudonymiser) -> int:
        """Replace each distinct value by its keyed-hash pseudonym, a batch of values per statement.

        A value that already is a pseudonym is left alone, so a re-run after a crash never hashes a hash.
        """
        column = t.c[name]
        todo = select(column).distinct().where(where, column.is_not(None), not_(column.startswith(PSEUDONYM_PREFIX)))
        values = [v for v in conn.execute(todo).scalars()]
        changed = 0
        for start in range(0, len(values), PSEUDONYM_BATCH):
            batch = values[start : start + PSEUDONYM_BATCH]
            mapping = case({v: literal(pseudonymise(str(v))) for v in batch}, value=column, else_=column)
            done = conn.execute(update(t).where(where, column.in_(batch)).values({name: mapping}))
            changed += int(done.rowcount or 0)
        return changed

    def rectify(
        self,
        nodes: Sequence[TableNode],
        target: TableNode,
        identities: Identities,
        cross: CrossValues,
        changes: Mapping[str, Any],
        *,
        dry_run: bool,
    ) -> StepResult:
        by_table = {n.table.name: n for n in nodes}
        t = self.table(target.table.name)

        def work(conn: Connection, result: StepResult) -> None:
            where = self.predicate(target, by_table, identities, cross)
            done = conn.execute(update(t).where(where).values(dict(changes)))
            result.rows = int(done.rowcount or 0)
            result.fields = {name: result.rows for name in changes}

        return self._step(target, dry_run, work)

    def validate_value(self, table: DeclaredTable, column: str, value: str) -> Any:
        col = self.table(table.name).c[column]
        try:
            kind = col.type.python_type
        except NotImplementedError:
            return value
        if kind is bool:
            if value.lower() not in ("true", "false"):
                raise ValueError("expected true or false")
            return value.lower() == "true"
        if kind is str:
            length = getattr(col.type, "length", None)
            if length is not None and len(value) > length:
                raise ValueError(f"longer than the column's {length} characters")
            return value
        expected = {
            int: "a whole number",
            datetime: "a date and time (ISO 8601, e.g. 2026-12-07T10:00:00+01:00)",
            date: "a date (ISO 8601, e.g. 2026-12-07)",
        }.get(kind, f"a value of the column's type ({kind.__name__})")
        convert: Callable[[str], Any] = {datetime: datetime.fromisoformat, date: date.fromisoformat}.get(kind, kind)
        try:
            return convert(value)
        except (ValueError, TypeError, ArithmeticError):  # their messages quote the value: personal data
            raise ValueError(f"expected {expected}") from None

    def restrict(
        self,
        nodes: Sequence[TableNode],
        target: TableNode,
        identities: Identities,
        cross: CrossValues,
        *,
        lift: bool,
        dry_run: bool,
    ) -> StepResult:
        from dataright.declarations.datasets import FlagRestriction

        by_table = {n.table.name: n for n in nodes}
        t = self.table(target.table.name)
        mechanism = target.table.restriction
        assert mechanism is not None

        def work(conn: Connection, result: StepResult) -> None:
            where = self.predicate(target, by_table, identities, cross)
            if isinstance(mechanism, FlagRestriction):
                done = conn.execute(update(t).where(where).values({mechanism.flag: not lift}))
                result.rows = int(done.rowcount or 0)
                result.fields = {mechanism.flag: result.rows}
                return
            side = self.table(mechanism.side_table)
            pk = self.primary_key(target.table)
            if len(pk) != 1:
                raise DatasetMismatch([f"{self.dataset.id}.{t.name}: a side table restriction needs a one-column key"])
            mine = select(pk[0]).where(where)
            if lift:
                done = conn.execute(delete(side).where(side.c[mechanism.key].in_(mine)))
            else:
                fresh = mine.where(pk[0].not_in(select(side.c[mechanism.key])))
                done = conn.execute(insert(side).from_select([mechanism.key], fresh))
            result.rows = int(done.rowcount or 0)
            result.fields = {f"{mechanism.side_table}.{mechanism.key}": result.rows}

        return self._step(target, dry_run, work)

    def close(self) -> None:
        if self._dry is not None:
            self._dry.rollback()
            self._dry.close()
            self._dry = None
        self._readers.close()
        self.engine.dispose()
