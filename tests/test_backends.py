"""The registry of backends: every launch option's backend is registered, and what each one promises."""

from __future__ import annotations

import pytest

from pbt_tracker import backends
from pbt_tracker.backends import CancelTarget
from pbt_tracker.backends.options import table
from pbt_tracker.errors import OptionError, StoreError

BACKENDS = next(option for option in table() if option.name == "backend").choices


def test_every_backend_a_launch_can_name_is_registered_once() -> None:
    assert BACKENDS == ("processes", "slurm", "ngc")
    assert sorted(backend.name for backend in backends.all_backends()) == sorted(BACKENDS)


def test_every_built_in_backend_follows_its_jobs_after_submission() -> None:
    assert backends.unfollowed() == ()


def test_a_backend_this_version_does_not_know_is_refused_in_one_line() -> None:
    with pytest.raises(StoreError) as caught:
        backends.get("pbs")
    assert str(caught.value) == ("this record has a launch on backend 'pbs', which this pbt-track does not know; "
                                 "upgrade pbt-track")


def test_slurm_and_ngc_stop_their_jobs_with_a_command_which_a_cancel_records_before_running_it() -> None:
    def command(name: str) -> list[str]:
        return backends.get(name).cancel_command([CancelTarget(1, "a", "17", name, "RUNNING", None, None)])

    assert {name: command(name) for name in sorted(BACKENDS)} == {
        "ngc": ["ngc", "batch", "kill", "17"], "processes": [], "slurm": ["scancel", "17"],
    }


def test_a_report_note_is_given_once_whatever_the_number_of_rows() -> None:
    backends.register("toy", TOY)
    try:
        assert backends.report_notes(["slurm", "processes", "ngc"]) == ""
        assert backends.report_notes(["toy", "slurm", "toy"]) == "Note: toy jobs are not followed\n"
    finally:
        backends.unregister("toy")


# --- the registry's public ways in, and what it refuses ----------------------------------------


class _Toy:
    """Enough of a facade for the registry, which reads only its name until a command uses its hooks."""

    name = "toy"
    follows_jobs = False
    report_note = "Note: toy jobs are not followed"


TOY = _Toy()


@pytest.fixture
def toy_module(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module `toy_sched` on the path whose `Toy` class is a facade; imported by nobody yet."""
    (tmp_path / "toy_sched.py").write_text(
        "class Toy:\n    name = 'toy'\n    follows_jobs = False\n    report_note = None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "toy_sched", raising=False)
    return "toy_sched:Toy"


def test_a_registered_place_is_imported_when_its_name_is_first_asked_for(toy_module: str) -> None:
    import sys

    backends.register("toy", toy_module)
    try:
        assert "toy_sched" not in sys.modules
        assert backends.names()[-1] == "toy"
        assert "toy_sched" not in sys.modules
        assert backends.get("toy") is backends.get("toy")
        assert type(backends.get("toy")).__name__ == "Toy"
        assert "toy" in backends.unfollowed()
    finally:
        backends.unregister("toy")
    assert "toy" not in backends.names()


def test_a_registered_facade_serves_as_it_is() -> None:
    backends.register("toy", TOY)
    try:
        assert backends.get("toy") is TOY
        assert backends.report_notes(["toy", "slurm", "toy"]) == "Note: toy jobs are not followed\n"
    finally:
        backends.unregister("toy")


def test_the_environment_names_facades_that_are_imported_only_when_needed(
    toy_module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setenv(backends.ENVIRONMENT, f" {toy_module} ,")
    assert type(backends.get("slurm")).__name__ == "SlurmBackend"
    assert "toy_sched" not in sys.modules  # a built-in name needs no look at the environment
    assert backends.names() == ("slurm", "processes", "ngc", "toy")
    assert type(backends.get("toy")).__name__ == "Toy"
    monkeypatch.delenv(backends.ENVIRONMENT)
    assert backends.names() == ("slurm", "processes", "ngc")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("toy_sched", "PBT_TRACK_BACKENDS's entry 'toy_sched' is not module:attribute; name the facade as, e.g., "
                      "my_sched.backend:Sched"),
        ("no_such_module_here:Toy", "backend no_such_module_here:Toy cannot be imported (ModuleNotFoundError: No "
                                    "module named 'no_such_module_here'); make its module importable here "
                                    "(PYTHONPATH), or take it out of PBT_TRACK_BACKENDS"),
        ("toy_sched:Missing", "backend toy_sched:Missing cannot be imported (AttributeError: module 'toy_sched' has "
                              "no attribute 'Missing'); make its module importable here (PYTHONPATH), or take it "
                              "out of PBT_TRACK_BACKENDS"),
        ("pbt_tracker.backends.slurm.backend:SlurmBackend",
         "PBT_TRACK_BACKENDS names a backend 'slurm', as one of pbt-track's own is named; give yours another name"),
        ("toy_sched:__doc__", "toy_sched:__doc__ is not a backend: it has no name; point at the facade (see "
                              "pbt_tracker.backends.base)"),
    ],
    ids=["no-colon", "no-module", "no-attribute", "built-in-name", "no-name"],
)
def test_a_bad_environment_entry_is_refused_in_one_line(
    toy_module: str, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.setenv(backends.ENVIRONMENT, text)
    with pytest.raises(OptionError) as caught:
        backends.names()
    assert str(caught.value) == message


def test_pbt_tracks_own_backends_can_be_neither_replaced_nor_removed() -> None:
    with pytest.raises(OptionError, match=r"^backend 'slurm' is one of pbt-track's own; give yours another name$"):
        backends.register("slurm", TOY)
    with pytest.raises(OptionError, match=r"^backend 'ngc' is one of pbt-track's own and cannot be removed$"):
        backends.unregister("ngc")
    with pytest.raises(OptionError, match=r"^backend 'toy''s place 'toy' is not module:attribute"):
        backends.register("toy", "toy")


def test_a_facade_registered_under_another_name_is_refused() -> None:
    backends.register("other", TOY)
    try:
        with pytest.raises(OptionError, match=r"^backend 'other' is registered with a facade named 'toy'; "):
            backends.get("other")
    finally:
        backends.unregister("other")


def test_a_report_of_a_launch_on_a_backend_this_version_lacks_is_one_line(in_repo, tmp_path) -> None:
    import sqlite3

    from click.testing import CliRunner

    from pbt_tracker.cli import cli

    work = tmp_path / "w"
    assert CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir",
                                    str(work), "--slurm_print_only", "--train_dir", str(tmp_path / "t")]).exit_code == 0
    connection = sqlite3.connect(work / "pbt_tracker.db")
    with connection:
        connection.execute("UPDATE launches SET backend = 'pbs'")
    connection.close()
    for sync in (["--no-sync"], []):
        result = CliRunner().invoke(cli, ["report", "--workdir", str(work), *sync])
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", (
            "Error: this record has a launch on backend 'pbs', which this pbt-track does not know; upgrade pbt-track\n"))


def test_a_backend_whose_options_are_not_its_own_is_refused_in_one_line() -> None:
    from pbt_tracker.launch.option_table import Option

    class Greedy(_Toy):
        name = "greedy"

        def option_rows(self):  # type: ignore[no-untyped-def]
            return (Option("slurm_array", bool, False, "Mine now.", "greedy"),)

        def common_defaults(self):  # type: ignore[no-untyped-def]
            return {}

    backends.register("greedy", Greedy())
    try:
        with pytest.raises(OptionError, match=r"^backend 'greedy' brings option --slurm_array, which is taken or not "
                                              r"its own; name its options after the backend, owned by it$"):
            table()
    finally:
        backends.unregister("greedy")
