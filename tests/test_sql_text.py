"""No SQL is built from user strings: checked in the code, and against the running app.

1. Static: every module under ``src/landrenew`` is parsed and every call that passes SQL *text* is found:
   ``text(…)``, ``literal_column(…)``, ``DDL(…)`` (SQLAlchemy), ``.exec_driver_sql(…)``,
   ``op.execute(…)`` (Alembic), ``.execute``/``.executemany``/``.executescript``/``.sql``/``.copy`` with
   a string (DB-API cursors, psycopg COPY, DuckDB, SQLAlchemy connections), ``pandas.read_sql*``, and
   calls through a name bound to one of these (``ex = con.execute``) or an argument typed
   ``Callable[[str], Any]``. Its SQL argument must be a constant, or be built (f-string, ``+``, ``%``,
   ``.format``, ``.join``, comprehensions, through local variables) only from constants: names bound
   once at a module's top level to constants (here or imported from another landrenew module), loop
   variables over constant tuples / dicts / ``range``, numbers (``int(…)``, ``len(…)``…). Every other
   interpolated part must be in :data:`ALLOWED`, keyed by (module, function, source of the part), with
   the reason it is not user text. A new f-string SQL anywhere fails this test until someone has looked
   at it; an entry no longer found fails it too (the list stays tight). Limits: a call's result (a
   helper returning SQL) is one part to review, not followed into the helper; a plain ``.execute(x)``
   is seen as SQL text when ``x`` is built from strings here or is an argument typed ``str``.
2. Behavioural: SQL-injection-looking strings in the search and filter parameters of the list
   endpoints and the OGC items endpoint answer 2xx/4xx, find nothing, and leave the parcel table whole.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

import landrenew
from webkit import client_for

SRC = Path(landrenew.__file__).parent

#: SQLAlchemy functions whose string argument is SQL written into the statement as it is
SQLA_RAW = {"text", "literal_column", "DDL", "TextClause"}
#: methods that take SQL text as their first argument, whatever the receiver
RAW_METHODS = {"exec_driver_sql"}
#: methods that take SQL text when given a string (not a SQLAlchemy statement)
STRING_METHODS = {"execute", "executemany", "executescript", "sql", "copy"}
#: annotations of an argument that runs the SQL text it is called with
RUNNERS = {"Callable[[str], Any]", "Callable[[str], pd.DataFrame]"}
#: builtins whose result is a number (a number cannot carry SQL)
NUMBERS = {"int", "float", "len", "round", "abs"}
#: pandas / geopandas readers taking SQL text
READERS = {"read_sql", "read_sql_query", "read_postgis"}

#: the benchmarks (``make bench``, ``python -m landrenew.bench_*``): a developer's tools run on their
#: own data, imported by no module of the app or CLI (test_benchmarks_are_reached_only_from_benchmarks);
#: their SQL (the engine comparison's DuckDB and PostGIS queries) is not scanned
BENCH = "landrenew.bench"

#: (module, function, interpolated expression) → why it is not user text. Reviewed one by one.
ALLOWED: dict[tuple[str, str, str], str] = {
    # --- the store -------------------------------------------------------------------------------
    ("landrenew.store.bulk", "insert_frame", "table.name"):
        "the name of a SQLAlchemy Table of the models (callers pass model tables)",
    ("landrenew.store.bulk", "insert_frame", "(f'\"{c}\"' for c in cols)"):
        "column names of the table itself: cols keeps only the frame's columns found in table.c and any "
        "other column is refused (KeyError) before any SQL, so a file's own headers never get here",
    ("landrenew.store.bulk", "bulk_writing", "conn.exec_driver_sql('PRAGMA cache_size').scalar()"):
        "the integer SQLite reported for PRAGMA cache_size a moment before",
    ("landrenew.store.bulk", "_indexes_in_bulk", "table"): "insert_frame passes its model table's name",
    ("landrenew.store.bulk", "_indexes_in_bulk", "name"):
        "a BULK_INDEXES trigger name (a constant) formatted with the model table's name",
    ("landrenew.store.bulk", "_indexes_in_bulk", "fill"):
        "a BULK_INDEXES statement (a constant) formatted with the model table's name; the id bound as ?",
    ("landrenew.store.bulk", "_indexes_in_bulk", "ddl"):
        "the CREATE TRIGGER text of the store's own trigger (made by migrations 0008/0013), read back "
        "from sqlite_master, dropped and re-created as it was",
    ("landrenew.store.textindex", "write_texts", "fts"):
        "the FTS5 table's name: the constants 'name_search_fts' / 'run_search_fts' of its callers",
    ("landrenew.store.textindex", "write_texts", "t.name"):
        "the name of the indexed-text table: textindex.NS or lists.RS (table clauses named in code)",
    ("landrenew.store.textindex", "bigram_match", "fts"):
        "the FTS5 table's name: a constant of its callers; the searched text goes in as a bound MATCH value",
}


@dataclass(frozen=True)
class Site:
    module: str
    function: str
    part: str
    line: int
    call: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.module, self.function, self.part)


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_const(node: ast.AST) -> bool:
    """A literal made of constants only (a dict, list or set literal too: it is tested where it is
    written, or bound once at a module's top level)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_const(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_const(k) for k in node.keys) and all(_is_const(v) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _is_const(node.operand)
    return False


class Scope:
    """The names bound in one function body (nested functions excluded) or at a module's top level."""

    def __init__(self, body: list[ast.stmt], parent: Scope | None) -> None:
        self.parent = parent
        self.assigned: dict[str, list[ast.AST]] = {}  # name → the values assigned to it
        self.loops: dict[str, list[ast.AST]] = {}  # loop variable → the iterables it runs over
        self.other: set[str] = set()  # bound some other way: arguments, with … as, except … as, unpacking
        self.imports: dict[str, tuple[str, str | None]] = {}  # name → (module, name in it; None: the module)
        self.strings: set[str] = set()  # arguments annotated ``str``
        for stmt in body:
            self._collect(stmt)

    def _target(self, target: ast.AST, value: ast.AST | None, loop: bool = False) -> None:
        if isinstance(target, ast.Name):
            if value is None:
                self.other.add(target.id)
            else:
                (self.loops if loop else self.assigned).setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Starred):
            self._target(target.value, value if loop else None, loop)
        elif isinstance(target, (ast.Tuple, ast.List)):
            pairs = (not loop and isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
                     and not any(isinstance(e, ast.Starred) for e in [*target.elts, *value.elts]))
            for i, elt in enumerate(target.elts):
                # ``a, b = x, y`` binds pairwise; a loop unpacking its items binds each name to the
                # iterable (constant when it holds constants only); other unpacking, to an unknown
                self._target(elt, value.elts[i] if pairs else value if loop else None, loop)

    def _collect(self, node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.other.add(node.name)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Assign):
            for t in node.targets:
                self._target(t, node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            self._target(node.target, node.value)
        elif isinstance(node, ast.NamedExpr):
            self._target(node.target, node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            self._target(node.target, node.iter, loop=True)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self._target(item.optional_vars, None)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            self.other.add(node.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                local = a.asname or a.name.split(".")[0]
                self.imports[local] = (a.name if a.asname else local, None)
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                self.imports[a.asname or a.name] = (node.module or "", a.name)
        for child in ast.iter_child_nodes(node):
            self._collect(child)


class Package:
    """The parsed modules of ``landrenew``, and which of their top-level names are constants."""

    def __init__(self, root: Path) -> None:
        self.trees: dict[str, ast.Module] = {}
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root.parent).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            self.trees[module] = ast.parse(path.read_text(encoding="utf-8"), str(path))
        self._scanners: dict[str, Scanner] = {}
        self._const: dict[tuple[str, str], bool] = {}

    def scanner(self, module: str) -> Scanner:
        if module not in self._scanners:
            self._scanners[module] = Scanner(self, module, self.trees[module])
        return self._scanners[module]

    def value(self, module: str, name: str) -> ast.AST | None:
        """The one value ``name`` is bound to at ``module``'s top level (None: not just once)."""
        if module not in self.trees:
            return None
        top = self.scanner(module).scopes[0]
        values = top.assigned.get(name, [])
        if len(values) != 1 or name in top.loops or name in top.other or name in top.imports:
            return None
        return values[0]

    def is_const(self, module: str, name: str) -> bool:
        """Is ``module.name`` bound once at the top level to a value made of constants only?"""
        key = (module, name)
        if key not in self._const:
            self._const[key] = False  # while deciding (a cycle is not constant)
            scanner = self.scanner(module) if module in self.trees else None
            if scanner is not None and name in scanner.scopes[0].imports:
                src, orig = scanner.scopes[0].imports[name]
                self._const[key] = orig is not None and self.is_const(src, orig)
            elif (value := self.value(module, name)) is not None:
                self._const[key] = _is_const(value) or not list(scanner.top_parts(value))
        return self._const[key]


class Scanner(ast.NodeVisitor):
    """The SQL-taking calls of one module, and the parts of their SQL that are not constants."""

    def __init__(self, package: Package, module: str, tree: ast.Module) -> None:
        self.package = package
        self.module = module
        self.sites: list[Site] = []
        self.calls = 0  # SQL-taking calls seen, constant or not
        self.stack: list[str] = []
        self.scopes: list[Scope] = [Scope(tree.body, None)]
        self.aliases: list[set[str]] = [set()]  # names bound to a SQL-taking method (``ex = con.execute``)
        self.sqla: dict[str, str] = {}  # local name → SQLAlchemy raw-SQL function it is
        self.sqla_modules: set[str] = set()  # local names of the sqlalchemy package (``import sqlalchemy as sa``)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                for a in node.names:
                    if a.name in SQLA_RAW:
                        self.sqla[a.asname or a.name] = a.name
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("sqlalchemy"):
                        self.sqla_modules.add(a.asname or a.name.split(".")[0])

    def scan(self) -> list[Site]:
        self.visit(self.package.trees[self.module])
        return self.sites

    def top_parts(self, node: ast.AST) -> list[ast.AST]:
        """The non-constant parts of a top-level value of this module."""
        saved, self.scopes = self.scopes, self.scopes[:1]
        try:
            return list(self._parts(node, set()))
        finally:
            self.scopes = saved

    # --- where we are -----------------------------------------------------------------------------

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.stack.append(node.name)
        args = node.args
        scope = Scope(node.body, self.scopes[-1])
        aliases = set()
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if a is not None:
                scope.other.add(a.arg)
                note = ast.unparse(a.annotation) if a.annotation is not None else ""
                # a callable taking a string, passed in to run SQL (``ex: Callable[[str], Any]``)
                if note in RUNNERS:
                    aliases.add(a.arg)
                if note == "str":
                    scope.strings.add(a.arg)
        for name, values in scope.assigned.items():
            if any(isinstance(v, ast.Attribute) and v.attr in RAW_METHODS | STRING_METHODS for v in values):
                aliases.add(name)
        self.scopes.append(scope)
        self.aliases.append(aliases)
        self.generic_visit(node)
        self.aliases.pop()
        self.scopes.pop()
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    # --- the calls --------------------------------------------------------------------------------

    def _kind(self, call: ast.Call) -> tuple[str, bool] | None:
        """(name of the SQL-taking callee, whether its argument is SQL even when not a plain string)."""
        f = call.func
        if isinstance(f, ast.Name):
            if f.id in self.sqla:
                return self.sqla[f.id], True
            if f.id in READERS:
                return f.id, False
            if f.id in self.aliases[-1]:
                return f.id, True
        elif isinstance(f, ast.Attribute):
            if isinstance(f.value, ast.Name) and f.value.id in self.sqla_modules and f.attr in SQLA_RAW:
                return f.attr, True
            if f.attr in RAW_METHODS:
                return f.attr, True
            if f.attr in STRING_METHODS | READERS:
                return f.attr, False
        return None

    def visit_Call(self, node: ast.Call) -> None:
        kind = self._kind(node)
        if kind is not None and node.args:
            name, always = kind
            arg = node.args[0]
            if always or self._stringy(arg, set()):
                self.calls += 1
                for part in self._parts(arg, set()):
                    self.sites.append(Site(self.module, ".".join(self.stack) or "<module>",
                                           ast.unparse(part), node.lineno, name))
        self.generic_visit(node)

    # --- what the SQL is made of ------------------------------------------------------------------

    def _lookup(self, name: str) -> tuple[Scope, list[ast.AST], list[ast.AST]] | None:
        for scope in reversed(self.scopes):
            if name in scope.assigned or name in scope.loops or name in scope.other or name in scope.imports:
                return scope, scope.assigned.get(name, []), scope.loops.get(name, [])
        return None

    def _stringy(self, node: ast.AST, seen: set[str]) -> bool:
        """Is ``node`` a string expression (not a SQLAlchemy statement object)?"""
        if _is_str(node) or isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, ast.BinOp):
            return self._stringy(node.left, seen) or self._stringy(node.right, seen)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
            return _is_str(node.func.value) or self._stringy(node.func.value, seen)
        if isinstance(node, ast.IfExp):
            return self._stringy(node.body, seen) or self._stringy(node.orelse, seen)
        if isinstance(node, ast.Name) and node.id not in seen:
            found = self._lookup(node.id)
            if found is None:
                return False
            scope, values, _ = found
            return node.id in scope.strings or any(self._stringy(v, seen | {node.id}) for v in values)
        return False

    def _imported(self, node: ast.AST) -> tuple[str, str] | None:
        """(module, name) of a name imported from a landrenew module, or of ``module.NAME``."""
        if isinstance(node, ast.Name):
            for scope in reversed(self.scopes):
                if node.id in scope.imports:
                    src, orig = scope.imports[node.id]
                    return (src, orig) if orig is not None and src.startswith("landrenew") else None
                if node.id in scope.assigned or node.id in scope.loops or node.id in scope.other:
                    return None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            for scope in reversed(self.scopes):
                if node.value.id in scope.imports:
                    src, orig = scope.imports[node.value.id]
                    module = src if orig is None else f"{src}.{orig}"
                    return (module, node.attr) if module in self.package.trees else None
                if node.value.id in scope.assigned or node.value.id in scope.other:
                    return None
        return None

    def _const_iter(self, it: ast.AST, seen: set[str]) -> bool:
        """Does this iterable hold constants only: a literal, a name bound to one (here, or at the top
        of a landrenew module), or ``reversed``/``sorted``/``.items()``/``.keys()``/``.values()`` of one?"""
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and not it.args \
                and it.func.attr in ("items", "keys", "values"):
            return self._const_iter(it.func.value, seen)
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id in ("reversed", "sorted") \
                and len(it.args) == 1:
            return self._const_iter(it.args[0], seen)
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range":
            return True  # numbers
        if _is_const(it):
            return True
        if (where := self._imported(it)) is not None:
            value = self.package.value(*where)
            return value is not None and _is_const(value)
        if isinstance(it, ast.Name) and it.id not in seen:
            found = self._lookup(it.id)
            if found is not None:
                scope, values, loops = found
                # a name bound once, to a literal; a mutable one only at a module's top level
                return (len(values) == 1 and not loops and it.id not in scope.other and _is_const(values[0])
                        and (scope.parent is None or isinstance(values[0], (ast.Tuple, ast.Constant))))
        return False

    def _parts(self, node: ast.AST, seen: set[str]) -> Iterator[ast.AST]:
        """The parts of a SQL string expression that are not constants written in the code."""
        if isinstance(node, ast.Constant):
            return
        if isinstance(node, ast.JoinedStr):
            for v in node.values:
                if isinstance(v, ast.FormattedValue):
                    yield from self._parts(v.value, seen)
            return
        if isinstance(node, ast.BinOp):
            yield from self._parts(node.left, seen)
            yield from self._parts(node.right, seen)
            return
        if isinstance(node, ast.IfExp):  # the test picks one of two SQL texts; it is not in the SQL
            yield from self._parts(node.body, seen)
            yield from self._parts(node.orelse, seen)
            return
        if isinstance(node, (ast.Tuple, ast.List)):
            for e in node.elts:
                yield from self._parts(e, seen)
            return
        if isinstance(node, ast.Starred):
            yield from self._parts(node.value, seen)
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
            yield from self._parts(node.func.value, seen)
            for a in [*node.args, *(k.value for k in node.keywords)]:
                yield from self._parts(a, seen)
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in NUMBERS:
            return  # a number: it cannot carry text
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            # the pieces a comprehension joins: constant when its element is, its loop variables bound
            # to what they run over (``"?" for _ in cols``, ``f"i{i}" for i in range(n)``)
            loops = Scope([], self.scopes[-1])
            for gen in node.generators:
                loops._target(gen.target, gen.iter, loop=True)
            self.scopes.append(loops)
            try:
                if list(self._parts(node.elt, seen)):
                    yield node
            finally:
                self.scopes.pop()
            return
        if (where := self._imported(node)) is not None:
            if self.package.is_const(*where):
                return
            yield node
            return
        if isinstance(node, ast.Name) and node.id not in seen:
            found = self._lookup(node.id)
            if found is not None:
                scope, values, loops = found
                if node.id not in scope.other and (values or loops):
                    if loops and not all(self._const_iter(it, seen | {node.id}) for it in loops):
                        yield node
                        return
                    for v in values:
                        yield from self._parts(v, seen | {node.id})
                    return
        yield node


@functools.cache
def scanned(root: Path = SRC) -> Package:
    """The package at ``root``, every module of it scanned (once per test session)."""
    package = Package(root)
    for module in package.trees:
        package.scanner(module).scan()
    return package


def sql_sites(root: Path = SRC) -> list[Site]:
    """Every interpolated part of SQL text in the package at ``root``."""
    package = scanned(root)
    return [site for module in package.trees if not module.startswith(BENCH)
            for site in package.scanner(module).sites]


# --------------------------------------------------------------------------- static


def test_every_interpolated_part_of_sql_text_is_reviewed():
    found: dict[tuple[str, str, str], Site] = {}
    for site in sql_sites():
        found.setdefault(site.key, site)
    new = [f"{s.module}:{s.line} in {s.function}(): {s.call}(…{{{s.part}}}…)"
           for k, s in sorted(found.items()) if k not in ALLOWED]
    assert not new, ("SQL text built from a value that is not a constant; pass it as a bound parameter, or "
                     "check it comes from code and add it to ALLOWED with the reason:\n" + "\n".join(new))
    stale = sorted(set(ALLOWED) - set(found))
    assert not stale, f"ALLOWED names SQL that is gone (remove it): {stale}"
    assert all(reason.strip() for reason in ALLOWED.values())


def test_the_scan_sees_the_sql_of_the_package():
    """A scanner that silently found nothing would pass the test above: it must see the SQL we know of."""
    package = scanned(SRC)
    calls = {m: package.scanner(m) for m in package.trees}
    assert sum(s.calls for s in calls.values()) > 80
    for module in ("landrenew.loading", "landrenew.store.bulk", "landrenew.store.textindex",
                   "landrenew.store.migrations.versions.0008_spatial_index_on_sqlite",
                   "landrenew.store.migrations.versions.0013_parcel_codes_by_trigram", "landrenew.bench_engines"):
        assert calls[module].calls, module


SAMPLE = '''
import sqlalchemy as sa
from sqlalchemy import text, literal_column as lc
from landrenew_sample.names import TABLE

KINDS = ("a", "b")
SETTINGS = {"x": "1"}


def fine(conn, cur, n: int):
    conn.execute(text("SELECT 1"))
    conn.execute(text(f"SELECT * FROM {TABLE} LIMIT {int(n)}"))
    for k in KINDS:
        cur.execute(f"DROP TABLE {k}_x")
    for k, v in SETTINGS.items():
        cur.execute(f"SET {k} = {v}")
    sql = "SELECT " + ", ".join("?" for _ in range(n))
    cur.execute(sql)
    cur.execute("SELECT " + ", ".join([*(f"c{i}" for i in range(n)), "x"]))
    conn.execute(select(x).where(y))


def bad(conn, cur, con, name: str, user: str):
    conn.execute(text(f"SELECT * FROM t WHERE name = '{name}'"))
    conn.exec_driver_sql("SELECT " + user)
    cur.execute("SELECT %s" % user)
    sql = "DELETE FROM {}".format(name)
    cur.executemany(sql, [])
    ex = con.execute
    ex(f"SELECT {user}")
    sa.text(name)
    lc(user)
    for k in [name]:
        cur.execute(f"DROP TABLE {k}")
    con.sql(f"SELECT {', '.join(f'{c}' for c in user)}")
    cur.execute(user)
'''


def test_the_scan_finds_sql_built_from_values_and_passes_constants(tmp_path):
    pkg = tmp_path / "landrenew_sample"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "names.py").write_text('TABLE = "parcel"\n')
    (pkg / "mod.py").write_text(SAMPLE)
    found = {(s.function, s.part) for s in sql_sites(pkg)}
    assert not {p for f, p in found if f == "fine"}, found
    assert {p for f, p in found if f == "bad"} == {
        "name", "user", "k", "(f'{c}' for c in user)"}, found
    assert len([s for s in sql_sites(pkg) if s.function == "bad"]) == 10  # one per call


def test_benchmarks_are_reached_only_from_benchmarks():
    """The scan leaves the benchmarks out as a developer's tools: no other module may import them."""
    importers = {}
    for module, tree in scanned(SRC).trees.items():
        for node in ast.walk(tree):
            names = ([node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                     if isinstance(node, ast.ImportFrom) else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            importers.setdefault(module, set()).update(n for n in names if n.startswith(BENCH))
    assert importers["landrenew.bench_scale"]  # the check sees imports at all
    assert not {m: n for m, n in importers.items() if n and not m.startswith(BENCH)}


# --------------------------------------------------------------------------- behavioural

INJECTIONS = ["' OR 1=1 --", "\"; DROP TABLE parcel; --", "%' UNION SELECT sqlite_version(), 1, 2 --",
              "1) OR (1=1", "x'); DELETE FROM parcel; --", "' OR ''='", "*\" OR \"\"=\"", "parcel_code_fts MATCH '*'"]
#: the tables whose rows the requests must leave as they were
KEPT = ("parcel", "firm_year", "run_parcel", "control_feature", "app_user")


def _counts(city) -> dict[str, int]:  # noqa: ANN001
    with city.ws.engine.connect() as conn:
        return {t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in KEPT}


def _ok(r) -> None:  # noqa: ANN001
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert set(r.json()) == {"error"} and {"code", "zh", "en"} <= set(r.json()["error"]), r.text


@pytest.fixture(scope="module")
def analyst(web_city):
    return client_for(web_city.app, "analyst")


def test_a_real_search_finds_rows(web_city, analyst):
    """The control: the searches below find nothing because of what they ask, not because they cannot find."""
    row = analyst.get("/api/lists/parcels", params={"page_size": 1}).json()["rows"][0]
    assert analyst.get("/api/lists/parcels", params={"q": row["parcel_key"]}).json()["total"] >= 1
    code = analyst.get("/ogc/collections/parcels/items", params={"limit": 1}).json()["features"][0]
    assert analyst.get("/ogc/collections/parcels/items", params={
        "parcel_code": code["properties"]["parcel_code"]}).json()["numberMatched"] >= 1


@pytest.mark.parametrize("evil", INJECTIONS)
def test_sql_looking_search_and_filter_values_find_nothing_and_change_nothing(web_city, analyst, evil):
    before, tables = _counts(web_city), set(web_city.ws.tables())
    for name in ("parcels", "firms", "recommendations", "units"):
        r = analyst.get(f"/api/lists/{name}", params={"q": evil})
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 0 and r.json()["rows"] == [], (name, r.json()["total"])
        _ok(analyst.get(f"/api/lists/{name}.xlsx", params={"q": evil}))
    for key in ("district_code", "tags", "sort", "run", "page", "area_mu_min"):
        r = analyst.get("/api/lists/parcels", params={key: evil})
        _ok(r)
        if r.status_code == 200:
            assert r.json()["total"] == 0, (key, r.json()["total"])
    r = analyst.get("/api/map/search", params={"q": evil[:100]})
    assert r.status_code == 200 and r.json()["matches"] == [], r.text
    for params in ({"state": evil}, {"district": evil}, {"family": evil}):
        r = analyst.get("/api/cases", params=params)
        _ok(r)
        if r.status_code == 200:
            assert r.json()["total"] == 0, (params, r.json())
    for cid, props in (("parcels", ("key", "parcel_code", "dlbm", "district_code", "right_holder")),
                       ("flagged", ("key", "district_code", "tags", "firm_class", "space", "planned_code", "unit_id")),
                       ("recommendations", ("case_id", "tags", "family", "path", "rule_id")),
                       ("units", ("tags", "unit_id"))):
        for prop in props:
            r = analyst.get(f"/ogc/collections/{cid}/items", params={prop: evil})
            _ok(r)
            if r.status_code == 200:
                assert r.json()["numberMatched"] == 0 and r.json()["features"] == [], (cid, prop)
        _ok(r := analyst.get(f"/ogc/collections/{cid}/items", params={"bbox": evil, "crs": evil}))
        assert r.status_code == 400, r.text
        assert analyst.get(f"/ogc/collections/{cid}/items/{evil}").status_code == 404
    assert analyst.get(f"/api/explain/parcel/{evil}").status_code == 404
    assert _counts(web_city) == before
    with web_city.ws.engine.connect() as conn:
        assert set(web_city.ws.tables()) == tables
        assert conn.execute(text("SELECT COUNT(*) FROM parcel")).scalar_one() > 0
