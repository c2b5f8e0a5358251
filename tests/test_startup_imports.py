"""`pbt-track report` on a current database starts without SQLAlchemy, alembic or the sync machinery.

Each case runs the command in a fresh interpreter and reads its `sys.modules`
afterwards: an import is what costs the start-up time, and it cannot hide there.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.report.rows import needs_sync
from pbt_tracker.store import open_store
from tests.conftest import query, run_with_modules

HEAVY = {"sqlalchemy", "alembic"}

def run_report(*argv: str) -> tuple[int, str, set[str]]:
    done, modules = run_with_modules("report", *argv)
    return done.returncode, done.stdout, modules


@pytest.fixture
def printed(in_repo: Path, tmp_path: Path) -> Path:
    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
                                      "--workdir", str(work), "--slurm_print_only", "true",
                                      "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    return work


@pytest.mark.parametrize(
    "argv",
    [
        ["--no-sync"],
        [],  # nothing on record can change: the scheduler is not asked, so sync is not imported
        ["--no-sync", "--format", "json"],
        ["--no-sync", "--format", "csv", "--all-attempts", "--experiment", "echo_pbt", "--state", "print_only"],
    ],
)
def test_report_on_a_current_database_imports_no_sqlalchemy_alembic_or_sync(printed: Path, argv: list[str]) -> None:
    code, out, modules = run_report("--workdir", str(printed), *argv)
    assert code == 0
    assert "02_echo_pbt" in out
    assert modules & (HEAVY | {"pbt_tracker.tracker.sync", "pbt_tracker.pbt.workspace"}) == set()
    assert ("pbt_tracker.report.table" in modules) == ("--format" not in argv)


def test_report_with_pbt_reads_workspaces_still_without_sqlalchemy(printed: Path) -> None:
    code, out, modules = run_report("--workdir", str(printed), "--no-sync", "--pbt")
    assert code == 0
    assert "policy" in out
    assert "pbt_tracker.pbt.workspace" in modules
    assert modules & HEAVY == set()


def test_report_on_an_old_database_still_migrates_it_with_alembic(tmp_path: Path) -> None:
    db = tmp_path / "pbt_tracker.db"
    db.write_bytes((Path(__file__).parent / "data" / "schema_0001.db").read_bytes())
    code, out, modules = run_report("--workdir", str(tmp_path), "--no-sync")
    assert code == 0
    assert "3 experiments: 3 PRINT_ONLY" in out
    assert {"alembic", "sqlalchemy"} <= modules
    assert query(db, "SELECT count(*) FROM alembic_version WHERE version_num = '0001'") == [(0,)]


@pytest.mark.parametrize(
    ("state", "job_id", "expected"),
    [
        ("PRINT_ONLY", None, False),
        ("COMPLETED", "12", False),
        ("UNKNOWN", "12", True),  # not seen by the last sync: asked about again
        ("UNKNOWN", None, True),  # a submitter that stopped before sbatch answered: sync looks for its tag
        ("SUBMITTING", None, True),
        ("PENDING", "12", True),
        ("RUNNING", "12", True),
        ("SUSPENDED", "12", True),  # a suspended job may still run
        ("SUBMIT_UNCERTAIN", None, True),  # sbatch may have created it: sync looks for its tag
    ],
)
def test_a_report_syncs_only_when_a_submission_may_still_change(
    printed: Path, state: str, job_id: str | None, expected: bool
) -> None:
    connection = sqlite3.connect(printed / "pbt_tracker.db")
    with connection:
        connection.execute("UPDATE submissions SET state = ?, job_id = ? WHERE id = 2", (state, job_id))
    connection.close()
    store = open_store(printed, create=False)
    try:
        assert needs_sync(store) is expected
    finally:
        store.close()


@pytest.mark.parametrize("command", ["show", "logs"])
def test_show_and_logs_on_a_current_database_import_no_sqlalchemy_alembic_or_sync(printed: Path, command: str) -> None:
    done, modules = run_with_modules(command, "02_echo_pbt", "--workdir", str(printed))
    assert "02_echo_pbt" in done.stdout + done.stderr  # logs of a print-only attempt says it never ran
    assert modules & (HEAVY | {"pbt_tracker.tracker.sync"}) == set()


def test_completing_an_experiment_name_imports_no_sqlalchemy_alembic_or_sync(
    printed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_PBT_TRACK_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", f"pbt-track show --workdir {printed} 02")
    monkeypatch.setenv("COMP_CWORD", "4")
    done, modules = run_with_modules()
    assert done.stdout == "plain,02_echo_pbt\n"
    assert modules & (HEAVY | {"pbt_tracker.tracker.sync", "pbt_tracker.report.rows"}) == set()


def test_a_command_imports_its_own_module_only_and_the_map_names_where_each_command_is(printed: Path) -> None:
    import importlib

    from pbt_tracker.cli.group import COMMAND_MODULES

    done, modules = run_with_modules("show", "02_echo_pbt", "--workdir", str(printed))
    assert done.returncode == 0
    assert {name for name in modules if name.startswith("pbt_tracker.cli.")} >= {"pbt_tracker.cli.show"}
    assert {"pbt_tracker.cli.launch", "pbt_tracker.launch.option_table", "pbt_tracker.cli.keeper"} & modules == set()
    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(f"pbt_tracker.cli.{module}")
    assert set(cli.commands) == set(COMMAND_MODULES)
    for name, command in cli.commands.items():
        assert command.callback is not None
        assert command.callback.__module__ == f"pbt_tracker.cli.{COMMAND_MODULES[name]}", name


SERVING = {"http.server", "socketserver", "pbt_tracker.serve", "pbt_tracker.cli.serve", "pbt_tracker.store.serve"}


def test_serve_costs_report_nothing_and_the_command_list_only_its_own_small_module(printed: Path) -> None:
    code, out, modules = run_report("--workdir", str(printed), "--no-sync", "--pbt")
    assert code == 0 and "02_echo_pbt" in out
    assert modules & SERVING == set()
    done, modules = run_with_modules("--help")
    assert "  serve " in done.stdout
    assert modules & SERVING == {"pbt_tracker.cli.serve"}
