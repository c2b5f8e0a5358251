"""report's plain-SQL rows agree with the ORM selection that cancel and resubmit use, value for value."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pbt_tracker.errors import OptionError
from pbt_tracker.report import log_file, report_rows
from pbt_tracker.store import Store, open_store
from pbt_tracker.store.models import Experiment, Launch, Script, Submission
from pbt_tracker.tracker.selection import Selection, check_names_exist, selected_rows, selected_rows_sql

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456)


@pytest.fixture
def store(tmp_path: Path):
    """Two runs; experiments with one to three attempts, with and without scripts, job ids and times."""
    store = open_store(tmp_path / "work")
    with store.transaction() as session:
        for number, run in enumerate(("alpha", "beta")):
            launch = Launch(run_name=run, run_module="m", backend="slurm" if number == 0 else "processes",
                            workdir="w", train_dir="t", options={}, template_path=None, template_text=None,
                            hostname="h", username="u", pbt_track_version="v", cwd="/somewhere")
            session.add(launch)
            # Positions out of id order: the report is in position order.
            for position in (2, 0, 1):
                experiment = Experiment(launch=launch, position=position, name=f"{position:02d}_{run}",
                                        base_name=run if position else "shared", cmd="python train.py",
                                        params={"pbt.policy_idx": position}, env_vars=None, root_dir="r",
                                        train_dir="t")
                script = Script(experiment=experiment, path=f"/s/{run}{position}.sh", text="#!", sha256="0" * 64)
                for attempt in range(1, position + 2):
                    latest = attempt == position + 1
                    job_id = None if (position, attempt) == (0, 1) else f"{number}{position}{attempt}"
                    session.add(Submission(
                        experiment=experiment, attempt=attempt, argv=["sbatch"], log_path="/l/%j.out",
                        script=script if attempt != 2 else None, job_id=job_id,
                        state="RUNNING" if latest and position == 1 else "FAILED" if not latest else "COMPLETED",
                        exit_code=None if latest and position == 1 else 1, node="n1" if job_id else None,
                        submitted_at=T0 if job_id else None, started_at=T0 + timedelta(minutes=attempt),
                        ended_at=None if latest and position == 1 else T0 + timedelta(hours=attempt, seconds=7),
                    ))
    yield store
    store.close()


SELECTIONS = [
    Selection(),
    Selection(all_attempts=True),
    Selection(run="beta"),
    Selection(experiments=("shared",)),
    Selection(experiments=("02_alpha", "beta"), all_attempts=True),
    Selection(job_ids=("022", "112")),
    Selection(states=("FAILED",), all_attempts=True),
    Selection(states=("RUNNING", "COMPLETED")),
    Selection(run="alpha", experiments=("alpha",), states=("FAILED", "COMPLETED"), all_attempts=True),
]


@pytest.mark.parametrize("selection", SELECTIONS, ids=repr)
def test_sql_selection_picks_the_orm_selections_submissions_in_its_order(store: Store, selection: Selection) -> None:
    with store.transaction() as session:
        expected = [submission.id for submission, *_ in session.execute(selected_rows(selection))]
    sql, params = selected_rows_sql(selection, "s.id")
    with store.read() as connection:
        found = [submission_id for (submission_id,) in connection.exec_driver_sql(sql, params)]
    assert found == expected
    assert expected  # each selection matches something, or the comparison proves little


@pytest.mark.parametrize("selection", SELECTIONS, ids=repr)
def test_report_rows_hold_the_orm_objects_values(store: Store, selection: Selection) -> None:
    rows = report_rows(store, selection, pbt=True)
    with store.transaction() as session:
        expected = list(session.execute(selected_rows(selection)))
    assert len(rows) == len(expected)
    for row, (submission, experiment, launch, script) in zip(rows, expected):
        assert (row.run, row.experiment, row.attempt, row.job_id, row.state, row.exit_code, row.node) == (
            launch.run_name, experiment.name, submission.attempt, submission.job_id, submission.state,
            submission.exit_code, submission.node,
        )
        assert (row.log, row.script, row.launch_id, row.backend) == (
            log_file(submission.log_path, submission.job_id), script.path if script else None, launch.id,
            launch.backend,
        )
        iso = [moment.isoformat(timespec="seconds") + "Z" if moment else None
               for moment in (submission.submitted_at, submission.started_at, submission.ended_at)]
        assert [row.submitted_at, row.started_at, row.ended_at] == iso
        if submission.ended_at:
            assert row.elapsed == str(submission.ended_at - submission.started_at).split(".")[0]
        else:
            assert row.elapsed is not None
        assert row.pbt_policy == experiment.params["pbt.policy_idx"]


def test_names_are_checked_the_same_on_a_session_and_a_connection(store: Store) -> None:
    bad = [Selection(experiments=("nope",)), Selection(run="gamma"), Selection(job_ids=("999",)),
           Selection(states=("DONE",))]
    for selection in bad:
        with pytest.raises(OptionError) as on_session, store.transaction() as session:
            check_names_exist(session, selection)
        with pytest.raises(OptionError) as on_connection, store.read() as connection:
            check_names_exist(connection, selection)
        assert str(on_session.value) == str(on_connection.value)
    with store.read() as connection:
        check_names_exist(connection, Selection(run="beta", experiments=("shared", "01_alpha"), job_ids=("011",)))
