"""Which submissions a command is about: the filters shared by report, cancel and resubmit.

Cancel and resubmit select ORM objects (`selected_rows`); report selects plain
rows in SQL (`selected_rows_sql`) so that it never imports the ORM or the
models, which are imported here only when an ORM function is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Select

from pbt_tracker import states
from pbt_tracker.errors import OptionError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pbt_tracker.store.models import Experiment, Launch, Script, Submission


@dataclass(frozen=True)
class Selection:
    """Filters a user gave; empty means "no filter" for each of them."""

    run: str | None = None
    experiments: tuple[str, ...] = ()
    job_ids: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    all_attempts: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "run": self.run,
            "experiments": list(self.experiments),
            "job_ids": list(self.job_ids),
            "states": list(self.states),
            "all_attempts": self.all_attempts,
        }

    @property
    def is_empty(self) -> bool:
        return not (self.run or self.experiments or self.job_ids or self.states)


def with_launch(statement: Select) -> Select:  # type: ignore[type-arg]
    """Join a statement over submissions to their experiment and launch, to filter by either."""
    from pbt_tracker.store.models import Experiment, Launch, Submission

    return statement.join(Experiment, Experiment.id == Submission.experiment_id).join(
        Launch, Launch.id == Experiment.launch_id
    )


def latest_attempts():  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from pbt_tracker.store.models import Submission

    return (
        select(Submission.experiment_id, func.max(Submission.attempt).label("attempt"))
        .group_by(Submission.experiment_id)
        .subquery("latest")
    )


def selected_rows(selection: Selection) -> Select[tuple[Submission, Experiment, Launch, Script | None]]:
    """Submissions with their experiment, launch and script, in launch and experiment order."""
    from sqlalchemy import and_, or_, select

    from pbt_tracker.store.models import Experiment, Launch, Script, Submission

    statement = with_launch(select(Submission, Experiment, Launch, Script)).outerjoin(
        Script, Script.id == Submission.script_id
    )
    if not selection.all_attempts:
        latest = latest_attempts()
        statement = statement.join(
            latest,
            and_(latest.c.experiment_id == Submission.experiment_id, latest.c.attempt == Submission.attempt),
        )
    if selection.run:
        statement = statement.where(Launch.run_name == selection.run)
    if selection.experiments:
        names = list(selection.experiments)
        statement = statement.where(or_(Experiment.name.in_(names), Experiment.base_name.in_(names)))
    if selection.job_ids:
        statement = statement.where(Submission.job_id.in_(list(selection.job_ids)))
    if selection.states:
        statement = statement.where(Submission.state.in_(list(selection.states)))
    return statement.order_by(Launch.id, Experiment.position, Submission.attempt)


# selected_rows in SQL: the same joins, filters and order over the tables aliased s, e, l and sc.
_FROM = """
FROM submissions AS s
JOIN experiments AS e ON e.id = s.experiment_id
JOIN launches AS l ON l.id = e.launch_id
LEFT OUTER JOIN scripts AS sc ON sc.id = s.script_id"""
_LATEST = """
JOIN (SELECT experiment_id, max(attempt) AS attempt FROM submissions GROUP BY experiment_id) AS latest
    ON latest.experiment_id = s.experiment_id AND latest.attempt = s.attempt"""
_ORDER = "\nORDER BY l.id, e.position, s.attempt"


def selected_rows_sql(selection: Selection, columns: str) -> tuple[str, tuple[str, ...]]:
    """`selected_rows` as one SQL statement and its parameters; `columns` names what to return from s, e, l, sc."""
    where: list[str] = []
    params: list[str] = []
    if selection.run:
        where.append("l.run_name = ?")
        params.append(selection.run)
    if selection.experiments:
        names = list(selection.experiments)
        where.append(f"(e.name IN ({_marks(names)}) OR e.base_name IN ({_marks(names)}))")
        params += names + names
    if selection.job_ids:
        where.append(f"s.job_id IN ({_marks(selection.job_ids)})")
        params += selection.job_ids
    if selection.states:
        where.append(f"s.state IN ({_marks(selection.states)})")
        params += selection.states
    sql = f"SELECT {columns}{_FROM}" + ("" if selection.all_attempts else _LATEST)
    if where:
        sql += "\nWHERE " + " AND ".join(where)
    return sql + _ORDER, tuple(params)


def _marks(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join("?" * len(values))


def check_names_exist(session: Session | Connection, selection: Selection) -> None:
    """A name that matches nothing is a typo more often than an empty result; say so."""
    for state in selection.states:
        if state not in states.KNOWN:
            raise OptionError(f"{state} is not a job state; use one of {', '.join(sorted(states.KNOWN))}")
    connection = session if isinstance(session, Connection) else session.connection()

    def found(sql: str, *params: str) -> bool:
        return connection.exec_driver_sql(sql + " LIMIT 1", params).first() is not None

    for name in selection.experiments:
        if not found("SELECT 1 FROM experiments WHERE name = ? OR base_name = ?", name, name):
            raise OptionError(
                f"no experiment named {name} in this workdir; `pbt-track report` lists the experiments"
            )
    if selection.run and not found("SELECT 1 FROM launches WHERE run_name = ?", selection.run):
        raise OptionError(f"no run named {selection.run} in this workdir; `pbt-track report` lists the runs")
    for job_id in selection.job_ids:
        if not found("SELECT 1 FROM submissions WHERE job_id = ?", job_id):
            raise OptionError(f"job {job_id} was not submitted from this workdir; `pbt-track report` lists the jobs")
