"""Every SQL statement and column list lives in pbt_tracker/store/, and nowhere else in the package.

Read from the code's own string constants (f-strings' literal parts too),
so that SQL cannot come back unnoticed outside the store: a statement by its
first word, a fragment by the table it reads from or joins (SQL keywords in
capitals, as the store writes them, so that prose naming a table is no
match), and a column list by the table aliases the selections use (s, e, l, sc).
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


def test_the_schema_names_the_tables_looked_for():
    assert {"launches", "experiments", "scripts", "submissions", "state_changes", "pbt_iterations"} <= set(TABLES)


def test_no_sql_and_no_column_list_outside_the_store():
    assert sql_outside_the_store() == []


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
