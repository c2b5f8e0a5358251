"""Which submissions a command is about: the filters shared by report, cancel and resubmit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from pbt_tracker import states
from pbt_tracker.errors import OptionError
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
    return statement.join(Experiment, Experiment.id == Submission.experiment_id).join(
        Launch, Launch.id == Experiment.launch_id
    )


def latest_attempts():  # type: ignore[no-untyped-def]
    return (
        select(Submission.experiment_id, func.max(Submission.attempt).label("attempt"))
        .group_by(Submission.experiment_id)
        .subquery("latest")
    )


def selected_rows(selection: Selection) -> Select[tuple[Submission, Experiment, Launch, Script | None]]:
    """Submissions with their experiment, launch and script, in launch and experiment order."""
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


def check_names_exist(session: Session, selection: Selection) -> None:
    """A name that matches nothing is a typo more often than an empty result; say so."""
    for state in selection.states:
        if state not in states.KNOWN:
            raise OptionError(f"{state} is not a job state; use one of {', '.join(sorted(states.KNOWN))}")
    for name in selection.experiments:
        found = session.scalar(
            select(Experiment.id).where(or_(Experiment.name == name, Experiment.base_name == name)).limit(1)
        )
        if found is None:
            raise OptionError(
                f"no experiment named {name} in this workdir; `pbt-track report` lists the experiments"
            )
    if selection.run:
        found = session.scalar(select(Launch.id).where(Launch.run_name == selection.run).limit(1))
        if found is None:
            raise OptionError(f"no run named {selection.run} in this workdir; `pbt-track report` lists the runs")
    for job_id in selection.job_ids:
        found = session.scalar(select(Submission.id).where(Submission.job_id == job_id).limit(1))
        if found is None:
            raise OptionError(f"job {job_id} was not submitted from this workdir; `pbt-track report` lists the jobs")
