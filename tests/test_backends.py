"""The registry of backends: every launch option's backend is registered, and what each one promises."""

from __future__ import annotations

import pytest

from pbt_tracker import backends
from pbt_tracker.backends import CancelTarget
from pbt_tracker.errors import StoreError
from pbt_tracker.launch.option_table import BACKENDS


def test_every_backend_a_launch_can_name_is_registered_once() -> None:
    assert sorted(backend.name for backend in backends.all_backends()) == sorted(BACKENDS)


def test_only_ngc_jobs_are_left_unfollowed_after_submission() -> None:
    assert backends.unfollowed() == ("ngc",)


def test_a_backend_this_version_does_not_know_is_refused_in_one_line() -> None:
    with pytest.raises(StoreError) as caught:
        backends.get("pbs")
    assert str(caught.value) == ("this record has a launch on backend 'pbs', which this pbt-track does not know; "
                                 "upgrade pbt-track")


def test_only_slurm_stops_its_jobs_with_a_command_which_a_cancel_records_before_running_it() -> None:
    def command(name: str) -> list[str]:
        return backends.get(name).cancel_command([CancelTarget(1, "a", "17", name, "RUNNING", None, None)])

    assert {name: command(name) for name in sorted(BACKENDS)} == {
        "ngc": [], "processes": [], "slurm": ["scancel", "17"],
    }


def test_a_report_note_is_given_once_whatever_the_number_of_rows() -> None:
    assert backends.report_notes(["slurm", "processes"]) == ""
    assert backends.report_notes(["ngc", "slurm", "ngc"]) == backends.get("ngc").report_note + "\n"
