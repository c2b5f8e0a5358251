"""The table of launch options: both command lines, the launch options, the record and reading it back."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pbt_tracker.launcher.run as launcher_run
from pbt_tracker.backends.ngc.options import NgcLaunchOptions
from pbt_tracker.backends.options import launch_options, launch_options_from_record, table
from pbt_tracker.backends.processes.options import ProcessesLaunchOptions
from pbt_tracker.backends.slurm.options import SlurmLaunchOptions
from pbt_tracker.backends.slurm.script import SlurmResources
from pbt_tracker.cli import cli
from pbt_tracker.errors import OptionError
from pbt_tracker.launch.options import LaunchOptions
from pbt_tracker.launcher.run import launcher_argparser, main, parse_args
from tests.conftest import query, run_with_modules

PBT = "tests.fixtures.pbt_echo"


def from_click(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> LaunchOptions:
    """What `pbt-track submit ARGV` hands to the launch, caught where the launch would start."""
    built: list[LaunchOptions] = []

    def caught(values: dict[str, Any], **output: bool) -> int:  # output: how submit prints (compact, verbose)
        built.append(launch_options(values))
        return 0

    monkeypatch.setattr(launcher_run, "launch", caught)
    result = CliRunner().invoke(cli, ["submit", *argv])
    assert result.exit_code == 0, result.output
    return built[0]


def from_argparse(argv: list[str]) -> LaunchOptions:
    return launch_options(vars(parse_args(argv)))


def dashed(argv: list[str]) -> list[str]:
    return [arg.replace("_", "-") if arg.startswith("--") else arg for arg in argv]


SAME_LAUNCHES = {
    "slurm": ["--run", PBT, "--backend", "slurm", "--slurm_workdir", "w", "--train_dir", "t", "--pause_between",
              "0.5", "--experiment_suffix", "_x", "--slurm_gpus_per_job", "2", "--slurm_cpus_per_gpu", "4",
              "--slurm_partition", "gpu", "--slurm_sbatch_template", "tpl.sh", "--slurm_timeout", "1:00:00",
              "--slurm_array", "true", "--slurm_array_limit", "3", "--slurm_print_only", "TRUE"],
    "slurm-bare-flags": ["--run", PBT, "--backend", "slurm", "--workdir", "w", "--slurm_print_only",
                         "--slurm_array", "--slurm_array_limit", "2"],
    "processes": ["--run", PBT, "--workdir", "w", "--num_gpus", "2", "--max_parallel", "3",
                  "--experiments_per_gpu", "1"],
    "processes-defaults": ["--run", PBT],
    "ngc": ["--run", PBT, "--backend", "ngc", "--ngc_job_template", "job.txt", "--ngc_print_only"],
}


@pytest.mark.parametrize("argv", SAME_LAUNCHES.values(), ids=SAME_LAUNCHES.keys())
def test_both_command_lines_in_both_spellings_build_the_same_launch_options(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    built = [from_click(argv, monkeypatch), from_click(dashed(argv), monkeypatch),
             from_argparse(argv), from_argparse(dashed(argv))]
    assert built[1:] == built[:1] * 3


def test_a_slurm_launch_gets_every_option_it_was_given() -> None:
    assert from_argparse(SAME_LAUNCHES["slurm"]) == SlurmLaunchOptions(
        workdir=Path("w"), run_module=PBT, train_dir="t", experiment_suffix="_x", pause_between=0.5,
        resources=SlurmResources(gpus_per_job=2, cpus_per_gpu=4, partition="gpu", timeout="1:00:00"),
        template_path="tpl.sh", print_only=True, array=True, array_limit=3,
        recorded_options=from_argparse(SAME_LAUNCHES["slurm"]).recorded_options,
    )


def test_defaults_come_from_the_table_for_every_backend() -> None:
    processes = from_argparse(["--run", PBT])
    assert processes == ProcessesLaunchOptions(workdir=Path("./train_dir"), run_module=PBT,
                                               recorded_options=processes.recorded_options)
    assert (processes.pause_between, processes.max_parallel, processes.num_gpus, processes.experiments_per_gpu) == (
        1.0, 4, 1, -1)
    slurm = from_argparse(["--run", PBT, "--backend", "slurm", "--workdir", "w"])
    assert (slurm.resources, slurm.print_only, slurm.array, slurm.template_path) == (SlurmResources(), False, False,
                                                                                    None)
    ngc = from_argparse(["--run", PBT, "--backend", "ngc"])
    assert ngc == NgcLaunchOptions(workdir=Path("./train_dir"), run_module=PBT, pause_between=0.0,
                                   recorded_options=ngc.recorded_options)


def test_ngc_pauses_zero_seconds_by_default_in_both_command_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the original's NGC backend (`set_defaults(pause_between=0)`); a given pause still counts."""
    assert parse_args(["--backend", "ngc"]).pause_between == 0
    assert from_click(["--run", PBT, "--backend", "ngc"], monkeypatch).pause_between == 0
    assert from_click(["--run", PBT, "--backend", "ngc", "--pause_between", "2"], monkeypatch).pause_between == 2


@pytest.mark.parametrize("backend", ["processes", "slurm", "ngc"])
def test_each_parser_has_every_flag_of_the_table_it_should(backend: str) -> None:
    submit = cli.get_command(None, "submit")
    click_flags = {flag for param in submit.params for flag in param.opts}
    argparse_flags = set(launcher_argparser(["--backend", backend])._option_string_actions)
    for option in table():
        assert set(option.flags) <= click_flags
        assert (set(option.flags) <= argparse_flags) == (option.backend in ("common", backend)), option.name
        assert len(option.flags) == (2 if "_" in option.name else 1)


@pytest.mark.parametrize(
    "argv",
    [["--slurm_print_only"], ["--slurm_print_only", "--train_dir", "t"], ["--slurm-print-only", "true"]],
    ids=["alone-last", "alone-before-another-flag", "with-value"],
)
def test_print_only_works_alone_in_both_command_lines(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    common = ["--run", PBT, "--backend", "slurm", "--workdir", "w"]
    assert parse_args(common + argv).slurm_print_only is True
    assert isinstance(options := from_click(common + argv, monkeypatch), SlurmLaunchOptions)
    assert options.print_only is True


def test_ngc_print_only_works_alone_in_both_command_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_args(["--backend", "ngc", "--ngc_print_only"]).ngc_print_only is True
    assert parse_args(["--backend", "ngc", "--ngc-print-only", "false"]).ngc_print_only is False
    options = from_click(["--run", PBT, "--backend", "ngc", "--ngc-print-only", "--pause_between", "1"], monkeypatch)
    assert isinstance(options, NgcLaunchOptions) and options.print_only is True


def test_a_submitted_launch_records_every_option_and_reads_back_as_the_same_options(
    in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["--run", PBT, "--backend", "slurm", "--workdir", str(tmp_path / "w"), "--train_dir", str(tmp_path / "t"),
            "--slurm_print_only", "--slurm_cpus_per_gpu", "2", "--pause_between", "0"]
    expected = from_click(argv, monkeypatch)
    monkeypatch.undo()
    assert CliRunner().invoke(cli, ["submit", *argv]).exit_code == 0
    [(recorded,)] = query(tmp_path / "w" / "pbt_tracker.db", "SELECT options FROM launches")
    record = json.loads(recorded)
    assert list(record) == [option.name for option in table()] + [
        "described_with", "described_with_version", "experiments_python", "environment"]
    assert (record["python"], record["described_with"], record["experiments_python"]) == (
        None, os.path.abspath(sys.executable), None)
    assert record["environment"]["PATH"] == os.environ["PATH"]
    assert record["workdir"] == record["slurm_workdir"] == str(tmp_path / "w")
    assert (record["slurm_print_only"], record["slurm_cpus_per_gpu"], record["slurm_gpus_per_job"]) == (True, 2, 1)
    assert launch_options_from_record(record) == expected


@pytest.mark.parametrize("argv", SAME_LAUNCHES.values(), ids=SAME_LAUNCHES.keys())
def test_the_record_of_any_launch_reads_back_as_its_options(argv: list[str]) -> None:
    options = from_argparse(argv)
    assert launch_options_from_record(json.loads(json.dumps(options.recorded_options))) == options


def test_an_old_record_takes_the_table_defaults_for_what_it_lacks() -> None:
    old = launch_options_from_record({"run": PBT, "backend": "processes", "train_dir": "t", "max_parallel": 2})
    assert isinstance(old, ProcessesLaunchOptions)
    assert (old.workdir, old.max_parallel, old.num_gpus, old.experiments_per_gpu, old.pause_between) == (
        Path("t"), 2, 1, -1, 1.0)
    assert launch_options_from_record({}, backend="processes").run_module == ""


def test_an_old_slurm_record_with_two_workdirs_reads_back_with_the_one_it_used() -> None:
    """Before the table, --slurm_workdir silently won over --workdir; the record is what happened."""
    old = launch_options_from_record({"backend": "slurm", "workdir": "a", "slurm_workdir": "b",
                                      "slurm_print_only": True, "slurm_array_limit": None})
    assert isinstance(old, SlurmLaunchOptions)
    assert (old.workdir, old.print_only, old.array_limit) == (Path("b"), True, None)


def test_a_record_with_a_value_of_the_wrong_type_is_refused_in_one_line() -> None:
    with pytest.raises(OptionError, match=r"^--max_parallel must be an integer, not 'many'$"):
        launch_options_from_record({"backend": "processes", "max_parallel": "many"})
    with pytest.raises(OptionError, match=r"^--slurm_print_only 'yes' is not a boolean; pass true or false$"):
        launch_options_from_record({"backend": "slurm", "workdir": "w", "slurm_print_only": "yes"})


REFUSED = [
    (["--pause_between", "inf"], "--pause_between must be a finite number of seconds, not inf"),
    (["--pause_between", "nan"], "--pause_between must be a finite number of seconds, not nan"),
    (["--pause_between=-0.5"], "--pause_between must be 0 or more seconds, not -0.5"),
    (["--workdir", "{tmp}/a", "--slurm_workdir", "{tmp}/b"],
     "--workdir {tmp}/a and --slurm_workdir {tmp}/b name two different workdirs; pass only one"),
]


@pytest.mark.parametrize(("extra", "message"), REFUSED, ids=["inf", "nan", "negative", "two-workdirs"])
def test_bad_options_are_refused_in_one_line_before_anything_is_written(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    extra = [arg.format(tmp=tmp_path) for arg in extra]
    argv = ["--run", PBT, "--backend", "slurm", "--slurm_print_only", "--train_dir", str(tmp_path / "t"), *extra]
    if "--workdir" not in extra:
        argv += ["--workdir", str(tmp_path / "a")]
    result = CliRunner().invoke(cli, ["submit", *argv])
    assert (result.exit_code, result.output) == (1, f"Error: {message.format(tmp=tmp_path)}\n")
    assert main(argv) == 1
    assert capsys.readouterr().err == f"error: {message.format(tmp=tmp_path)}\n"
    assert list(tmp_path.iterdir()) == []


def test_the_same_workdir_given_twice_is_one_workdir(in_repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--slurm_print_only",
                                      "--workdir", str(tmp_path / "w"), "--slurm_workdir", f"{tmp_path}/w/",
                                      "--train_dir", str(tmp_path / "t"), "--pause_between", "0"])
    assert result.exit_code == 0, result.output
    assert query(tmp_path / "w" / "pbt_tracker.db", "SELECT count(*) FROM launches") == [(1,)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--ngc_print_only"], "--ngc_print_only needs --backend ngc"),
     (["--backend", "ngc", "--slurm_array"], "--slurm_array needs --backend slurm"),
     (["--backend", "ngc", "--max_parallel", "2"], "--max_parallel needs --backend processes")],
)
def test_an_option_of_another_backend_is_a_usage_error(argv: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, *argv], prog_name="pbt-track")
    assert (result.exit_code, result.output) == (2, f"Error: {message} (see `pbt-track submit --help`)\n")


@pytest.mark.parametrize("argv", [["--help"], ["submit", "--help"]], ids=["pbt-track", "submit"])
def test_help_builds_submits_options_from_the_table_alone(argv: list[str]) -> None:
    """Every command builds submit's options at start-up: the table must come without the launch machinery."""
    done, modules = run_with_modules(*argv)
    assert done.returncode == 0, done.stderr
    assert "pbt_tracker.launch.option_table" in modules
    assert modules & {"pbt_tracker.launch.options", "pbt_tracker.backends.slurm.script", "argparse"} == set()
