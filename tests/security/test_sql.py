"""SQL is built from bound parameters only: no value is ever formatted into a statement.

The package's source is scanned (ast) for calls that take SQL text (``text``,
``literal_column``, ``execute``, ``executemany``, ``exec_driver_sql``, ``mogrify``,
``copy_expert``, ``copy_from``, ``copy_to``) whose statement is built with an f-string,
``%``, ``.format()`` or ``+``, directly or through a variable assigned in the same
function or module. The only pieces allowed into such a statement are listed in ALLOWED,
each with why it is no input.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "bvp"
SQL_CALLS = {
    "text",
    "literal_column",
    "execute",
    "executemany",
    "exec_driver_sql",
    "mogrify",
    "copy_expert",
    "copy_from",
    "copy_to",
}

# (file, function, interpolated expression) -> why it is not input
ALLOWED = {
    # The staging table's name and the belief columns: module constants.
    ("data/beliefs.py", "save_beliefs", "_STAGING"): "constant table name",
    ("data/beliefs.py", "save_beliefs", "', '.join(BELIEF_COLUMNS)"): "constant column names",
    ("data/beliefs.py", "save_beliefs", "', '.join(BELIEF_KEY)"): "constant key columns",
    # "Its source is no forecaster": a module constant of data_sources.py.
    ("data/beliefs.py", "save_beliefs", "MEASURED_BY_SQL"): "constant condition",
    ("data/newest_events.py", "newest_measured_values", "MEASURED_BY_SQL"): "constant condition",
    ("data/models/beliefs.py", "<module>", "FORECAST_BY_SQL"): "constant condition",
    # Looping over the constant pair ("sensor", "data_source").
    ("data/beliefs.py", "_check_references", "table"): "constant table names",
    # Fixed condition strings with %(name)s placeholders; the values are parameters.
    ("data/beliefs.py", "latest_beliefs", "' AND '.join(conditions)"): "fixed conditions",
    # psycopg2's own binding of those parameters (mogrify), wrapped in COPY ... TO STDOUT.
    ("data/beliefs.py", "latest_beliefs", "sql"): "output of cursor.mogrify",
    # The same for many sensors' histories at once (fixed conditions, bound values).
    ("data/histories.py", "latest_histories", "sql"): "output of cursor.mogrify",
    ("data/histories.py", "latest_histories", "conditions"): "fixed conditions",
    # One of the two constant column lists: the latest belief per event, or every one.
    ("data/beliefs.py", "latest_beliefs", "columns"): "_LATEST_BELIEF or _EVERY_BELIEF",
    ("data/belief_export.py", "export_page", "' AND '.join(conditions)"): "fixed conditions",
    # The database name from the configured URL, quoted by the dialect's preparer.
    ("data/db.py", "ensure_database_exists", "quoted"): "identifier quoted by SQLAlchemy",
    # timed_belief's partitions: the parent's name, the catalog query that reads their
    # bounds (both module constants) and a partition's name, made by partition_name()
    # from a timestamp (timed_belief_yYYYYmMM).
    ("data/partitions.py", "list_partitions", "_COVERED"): "constant query text",
    ("data/partitions.py", "_coverage_of", "_COVERED"): "constant query text",
    ("data/partitions.py", "_coverage_of", "PARENT"): "constant table name",
    ("data/partitions.py", "_make", "PARENT"): "constant table name",
    ("data/partitions.py", "_make", "name"): "partition_name() of a timestamp",
    # A manifest view name (pattern ^[A-Za-z_][A-Za-z0-9_.]{0,127}$), each part quoted.
    ("ingestion/after_import.py", "run_after_import", "name"): "validated identifier, quoted",
}


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


class Scanner(ast.NodeVisitor):
    """Collects (function, interpolated expression, line) of SQL built from strings."""

    def __init__(self, tree: ast.Module):
        self.module_assignments = self._assignments(tree)
        self.function = "<module>"
        self.local_assignments: dict[str, list[ast.expr]] = {}
        self.found: list[tuple[str, str, int]] = []

    @staticmethod
    def _assignments(scope: ast.AST) -> dict[str, list[ast.expr]]:
        assigned: dict[str, list[ast.expr]] = {}
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
                if isinstance(node.target, ast.Name):
                    assigned.setdefault(node.target.id, []).append(node.value)
        return assigned

    def visit_FunctionDef(self, node):
        outer = self.function, self.local_assignments
        self.function, self.local_assignments = node.name, self._assignments(node)
        self.generic_visit(node)
        self.function, self.local_assignments = outer

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815 (ast.NodeVisitor names)

    def visit_Call(self, node: ast.Call):
        if _called_name(node) in SQL_CALLS and node.args:
            for piece in self._built_pieces(node.args[0], depth=0):
                self.found.append((self.function, piece, node.lineno))
        self.generic_visit(node)

    def _is_text(self, node: ast.expr) -> bool:
        """A string constant, or a name assigned only string constants (a query template)."""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.Name):
            values = self.local_assignments.get(node.id) or self.module_assignments.get(node.id)
            return bool(values) and all(self._is_text(v) for v in values)
        return False

    def _built_pieces(self, node: ast.expr, depth: int, building: bool = False) -> list[str]:
        """The non-constant pieces a statement is built from (empty when it is static).

        A name assigned nowhere here (a parameter) is a piece when a string is being
        built from it; passed on its own it is taken for a SQLAlchemy construct.
        """
        if depth > 5:
            return []
        if isinstance(node, ast.JoinedStr):
            return [
                ast.unparse(value.value)
                for value in node.values
                if isinstance(value, ast.FormattedValue)
            ]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
            pieces = []
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant):
                    continue
                built = self._built_pieces(side, depth + 1, building=True)
                is_string = isinstance(side, ast.JoinedStr | ast.BinOp | ast.Name)
                pieces += built or ([] if is_string else [ast.unparse(side)])
            return pieces
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and self._is_text(node.func.value)
        ):
            return [ast.unparse(arg) for arg in [*node.args, *(k.value for k in node.keywords)]]
        if isinstance(node, ast.Name):
            values = self.local_assignments.get(node.id) or self.module_assignments.get(node.id)
            if values is None:
                return [node.id] if building else []
            pieces = []
            for value in values or []:
                pieces += self._built_pieces(value, depth + 1)
            return pieces
        return []


def scan(source: str, path: str) -> list[str]:
    """Every piece formatted into SQL in ``source`` that ALLOWED does not explain."""
    scanner = Scanner(ast.parse(source))
    scanner.visit(ast.parse(source))
    return [
        f"{path}:{line} in {function}(): {piece}"
        for function, piece, line in scanner.found
        if (path, function, piece) not in ALLOWED
    ]


def test_sql_is_built_only_from_constants_and_bound_parameters():
    problems = []
    for file in sorted(PACKAGE.rglob("*.py")):
        path = file.relative_to(PACKAGE).as_posix()
        problems += scan(file.read_text(encoding="utf-8"), path)
    assert not problems, "values formatted into SQL (bind them as parameters):\n" + "\n".join(
        problems
    )


def test_every_allowed_piece_is_still_there():
    """An entry the code no longer needs is removed, so the list stays an exact record."""
    used = set()
    for file in sorted(PACKAGE.rglob("*.py")):
        path = file.relative_to(PACKAGE).as_posix()
        scanner = Scanner(ast.parse(file.read_text(encoding="utf-8")))
        scanner.visit(ast.parse(file.read_text(encoding="utf-8")))
        used |= {(path, function, piece) for function, piece, _ in scanner.found}
    assert set(ALLOWED) <= used, set(ALLOWED) - used


def test_the_scan_catches_values_formatted_into_sql():
    source = """
from sqlalchemy import text

LIMIT = "LIMIT 10"


def find(session, cursor, name, user_input):
    session.execute(text(f"SELECT * FROM sensor WHERE name = '{name}'"))
    session.execute(text("SELECT * FROM sensor WHERE name = '%s'" % user_input))
    session.execute(text("SELECT * FROM sensor WHERE name = '{}'".format(user_input)))
    cursor.execute("SELECT * FROM sensor WHERE name = '" + user_input + "'")
    query = f"DELETE FROM sensor WHERE id = {user_input}"
    cursor.copy_expert(query, None)
    session.execute(text("SELECT * FROM sensor WHERE name = :name"), {"name": name})
    cursor.execute("SELECT * FROM sensor WHERE name = %s", (name,))
    session.execute(text("SELECT * FROM sensor " + LIMIT))
"""
    found = scan(source, "example.py")
    assert [line.split(": ", 1)[1] for line in found] == [
        "name",
        "user_input",
        "user_input",
        "user_input",
        "user_input",
    ], found
