"""Every SQL statement and column list lives in pbt_tracker/store/, and nowhere else in the package.

Read from the code's own string constants (f-strings' literal parts too),
so that SQL cannot come back unnoticed outside the store: a statement by its
first word, a fragment by the table it reads from or joins (SQL keywords in
capitals, as the store writes them, so that prose naming a table is no
match), and a column list by the table aliases the selections use (s, e, l, sc).

Writes are read from the calls into `store.writes`: outside the store none
may name a table, hand over a dict keyed by column names, or spread one
into keywords with `**`; the store's typed rows and functions say the columns.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pbt_tracker"
STORE = PACKAGE / "store"

TABLES = sorted(set(re.findall(r"CREATE (?:TABLE|VIEW) (\w+)", "".join(
    path.read_text() for path in sorted((ROOT / "migrations" / "versions").glob("*.py"))))))

_MIGRATIONS = "".join(path.read_text() for path in sorted((ROOT / "migrations" / "versions").glob("*.py")))
COLUMNS = sorted(
    set(re.findall(r"^\s+(\w+) (?:INTEGER|VARCHAR|TEXT|JSON|DATETIME|BOOLEAN|REAL)\b", _MIGRATIONS, re.M))
    | set(re.findall(r"ADD COLUMN (\w+)", _MIGRATIONS))
)

_STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE|CREATE|DROP|ALTER)\s")
_FROM_A_TABLE = re.compile(rf"\b(FROM|JOIN|INTO|UPDATE)\s+({'|'.join(TABLES)})\b")
_COLUMN_LIST = re.compile(r"\b(s|e|l|sc)\.[a-z_]+(\s+AS\s+\w+)?\s*,\s*(s|e|l|sc)\.[a-z_]+")


def sql_in(text: str) -> str | None:
    """What makes `text` SQL, or None."""
    for pattern in (_STATEMENT, _FROM_A_TABLE, _COLUMN_LIST):
        found = pattern.search(text)
        if found:
            return found.group(0)
    return None


def sql_outside_the_store() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(STORE):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = sql_in(node.value)
                if match:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {match!r}")
    return found


def _writes_calls(tree: ast.AST) -> list[ast.Call]:
    """Calls of `writes.f(...)`, or of a function imported by name from pbt_tracker.store.writes."""
    imported = {
        alias.asname or alias.name for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "pbt_tracker.store.writes" for alias in node.names
    }
    return [
        node for node in ast.walk(tree) if isinstance(node, ast.Call) and (
            isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "writes" or isinstance(node.func, ast.Name) and node.func.id in imported
        )
    ]


# The store's own helpers for its typed writes: each takes a table, and a dict keyed by its columns.
_BY_TABLE = {"insert", "insert_many", "update", "next_ids"}


def untyped_writes(source: str) -> list[tuple[int, str]]:
    """Each call into `writes` that names a table, or says columns by string keys (a dict literal or `**`)."""
    found = []
    for call in _writes_calls(ast.parse(source)):
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if name in _BY_TABLE:
            found.append((call.lineno, f"{name}, which takes a table"))
        for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
            for node in ast.walk(argument):
                if isinstance(node, ast.Constant) and node.value in TABLES:
                    found.append((call.lineno, f"table {node.value!r}"))
                elif isinstance(node, ast.Dict):
                    keys = [key.value for key in node.keys if isinstance(key, ast.Constant)]
                    columns = sorted(set(keys) & set(COLUMNS))
                    if columns:
                        found.append((call.lineno, f"column keys {columns}"))
        found += [(call.lineno, "values spread with **") for keyword in call.keywords if keyword.arg is None]
    return found


def untyped_writes_outside_the_store(package: Path = PACKAGE) -> list[str]:
    return [
        f"{path.relative_to(package.parent)}:{line}: {what}"
        for path in sorted(package.rglob("*.py")) if not path.is_relative_to(package / "store")
        for line, what in untyped_writes(path.read_text())
    ]


def test_the_schema_names_the_tables_looked_for():
    assert {"launches", "experiments", "scripts", "submissions", "state_changes", "pbt_iterations"} <= set(TABLES)


def test_no_sql_and_no_column_list_outside_the_store():
    assert sql_outside_the_store() == []


def test_the_schema_names_the_columns_looked_for():
    assert {"run_name", "argv", "job_id", "exit_signal", "origin", "selection", "task_count"} <= set(COLUMNS)


def test_no_write_outside_the_store_names_a_table_or_a_column():
    assert untyped_writes_outside_the_store() == []


@pytest.mark.parametrize(
    "source",
    [
        'writes.insert(connection, "scripts", row)',
        'writes.update(connection, "submissions", submission_id, {"argv": argv})',
        'writes.insert_many(connection, table, [{"id": 1, "launch_id": 2}])',
        "writes.insert_many(connection, table, rows)",
        'writes.next_ids(connection, ("experiments", "scripts"))',
        'writes.change_state(connection, 1, None, "RUNNING", now, None, **values)',
        'writes.change_states(connection, [(1, None, "LOST", None, {"unseen_count": 3})], now)',
        'from pbt_tracker.store.writes import insert\ninsert(connection, "launches", launch)',
    ],
)
def test_untyped_writes_are_recognised(source: str) -> None:
    assert untyped_writes(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "insert(connection, NewScript(experiment_id=1, path=p, text=t, sha256=h, created_at=now))",
        "writes.set_argv(connection, submission_id, argv)",
        'writes.change_state(connection, 1, None, "RUNNING", now, "pid 7", job_id="7", node=here)',
        'writes.add_state_change(connection, 1, "SUBMITTING", now, "resubmit")',
        'other.insert(connection, "scripts", {"path": p})',
    ],
)
def test_typed_writes_are_not_taken_for_untyped(source: str) -> None:
    assert untyped_writes(source) == []


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1",
        "  INSERT INTO t (a) VALUES (?)",
        "UPDATE submissions SET state = ?",
        "WITH followed AS (SELECT 1) SELECT 2",
        "count(*) FROM submissions WHERE state = ?",
        " JOIN experiments AS e ON e.id = s.experiment_id",
        "s.id, e.name, s.job_id",
        "l.run_name, e.name AS experiment",
        "e.id AS experiment_id, e.name",
    ],
)
def test_sql_and_column_lists_are_recognised(text: str) -> None:
    assert sql_in(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Select what to cancel: --experiment NAME, --run NAME, --job ID, --state STATE, or --all",
        "With --slurm_array, one array per launch",
        "Update the record from the scheduler, e.g., after a crash",
        "the submissions of a launch, from its experiments",
        "Sync copies every iteration file into pbt_iterations with the time it first saw it",
        "pbt.policy_idx, pbt.workspace",
    ],
)
def test_prose_is_not_taken_for_sql(text: str) -> None:
    assert sql_in(text) is None
