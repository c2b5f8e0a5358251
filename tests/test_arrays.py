"""Job arrays without a cluster: the array script, grouping, splitting, options, and what is recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pbt_tracker.backends.slurm.array import (
    ArrayTask,
    array_argv_from,
    array_chunks,
    array_sbatch_argv,
    array_spec,
    interpreter,
    render_array_script,
    sbatch_options,
)
from pbt_tracker.backends.slurm.script import SlurmResources, sbatch_argv, sbatch_directives
from tests.conftest import FIXTURES, REPO_ROOT, query

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def test_array_script_runs_each_tasks_script_with_its_interpreter_into_its_own_log():
    tasks = [
        ArrayTask(Path("/w d/sbatch_a.sh"), "#!/bin/bash -l\n#SBATCH -c 2\necho a\n", "/w d/sbatch_a.sh-slurm-%j.out"),
        ArrayTask(Path("/w/sbatch_b.sh"), "#!/usr/bin/env zsh\necho b\n", "/w/sbatch_b.sh-slurm-%j.out"),
    ]
    assert render_array_script(("#SBATCH -c 2",), tasks) == (
        "#!/bin/sh\n"
        "#SBATCH -c 2\n"
        "# Written by pbt-track: array task N runs the script of task N below, output to its own log.\n"
        'case "${SLURM_ARRAY_TASK_ID:-}" in\n'
        "0) exec /bin/bash -l '/w d/sbatch_a.sh' "
        """>'/w d/sbatch_a.sh-slurm-'"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}".out 2>&1 ;;\n"""
        '1) exec /usr/bin/env zsh /w/sbatch_b.sh >/w/sbatch_b.sh-slurm-"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}".out'
        " 2>&1 ;;\n"
        '*) echo "pbt-track: this array has no task ${SLURM_ARRAY_TASK_ID:-(none)}" >&2; exit 2 ;;\n'
        "esac\n"
    )


def test_array_script_task_writes_its_log_and_an_unknown_task_fails(tmp_path: Path):
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\necho \"task says $1hello\"\n")
    driver = tmp_path / "array.sh"
    driver.write_text(render_array_script((), [ArrayTask(script, script.read_text(), f"{tmp_path}/log-%j.out")]))
    env = {"PATH": "/usr/bin:/bin", "SLURM_ARRAY_JOB_ID": "77", "SLURM_ARRAY_TASK_ID": "0"}
    assert subprocess.run(["/bin/sh", str(driver)], env=env).returncode == 0
    assert (tmp_path / "log-77_0.out").read_text() == "task says hello\n"
    missing = subprocess.run(["/bin/sh", str(driver)], env={**env, "SLURM_ARRAY_TASK_ID": "1"},
                             capture_output=True, text=True)
    assert (missing.returncode, missing.stderr) == (2, "pbt-track: this array has no task 1\n")


@pytest.mark.parametrize(
    "text, directives",
    [
        ("#!/bin/bash\n#SBATCH -c 2\n# note\n\n#SBATCH  --time=5 \necho\n#SBATCH -J late\n", ("#SBATCH -c 2", "#SBATCH  --time=5")),
        ("#!/bin/bash\nconda activate x\n#SBATCH -c 2\n", ()),
        ("#!/bin/bash\n", ()),
    ],
)
def test_directives_are_the_sbatch_lines_before_the_first_command(text, directives):
    assert sbatch_directives(text) == directives


@pytest.mark.parametrize(
    "text, program",
    [("#!/bin/bash -l\necho\n", ["/bin/bash", "-l"]), ("#!/usr/bin/env python3\n", ["/usr/bin/env", "python3"]),
     ("echo\n", ["/bin/sh"]), ("#!\n", ["/bin/sh"])],
)
def test_interpreter_is_the_scripts_shebang(text, program):
    assert interpreter(text) == program


def test_chunks_cut_at_max_array_size_and_specs_carry_the_limit():
    assert array_chunks(2003, 1001) == [range(0, 1001), range(1001, 2002), range(2002, 2003)]
    assert array_chunks(3, 1001) == [range(0, 3)]
    assert (array_spec(3), array_spec(1001, 8)) == ("0-2", "0-1000%8")


def test_array_sbatch_argv_is_the_single_job_command_with_array_before_the_script():
    argv = array_sbatch_argv(Path("/w/a.sh"), "/w/a.sh-slurm-%A_%a.out", "0-2%1", SlurmResources(partition="gpu"))
    assert argv == ["sbatch", "-p", "gpu", "--gres=gpu:1", "-c", "16", "--parsable", "--output",
                    "/w/a.sh-slurm-%A_%a.out", "--array=0-2%1", "/w/a.sh"]


def submit(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PBT_TRACK, "submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir",
         str(tmp_path / "w"), "--slurm_print_only", "true", "--train_dir", str(tmp_path / "t"), *extra],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )


def test_print_only_array_records_one_array_and_each_experiments_own_command(tmp_path: Path):
    done = submit(tmp_path, "--slurm-array", "--slurm-array-limit", "2")
    assert done.returncode == 0, done.stderr
    db = tmp_path / "w" / "pbt_tracker.db"
    ((path, argv, count, job_id),) = query(db, "SELECT path, argv, task_count, job_id FROM slurm_arrays")
    assert (count, job_id) == (3, None)
    assert json.loads(argv)[-2:] == ["--array=0-2%2", path]
    assert [line for line in done.stdout.splitlines() if line.startswith(("Executing", "Would run"))] == [
        f"Would run {' '.join(json.loads(argv))}"
    ]
    rows = query(db, "SELECT s.array_task, s.argv, s.state, sc.path FROM submissions s "
                     "JOIN scripts sc ON sc.id = s.script_id ORDER BY s.id")
    assert [(task, state) for task, _argv, state, _path in rows] == [(0, "PRINT_ONLY"), (1, "PRINT_ONLY"),
                                                                     (2, "PRINT_ONLY")]
    assert all(json.loads(own)[-1] == script for _task, own, _state, script in rows)
    text = Path(path).read_text()
    assert [line.split(")", 1)[0] for line in text.splitlines() if line[:1].isdigit()] == ["0", "1", "2"]


def test_experiments_whose_sbatch_lines_differ_go_out_as_separate_arrays(tmp_path: Path):
    template = tmp_path / "named.sh"
    template.write_text("#!/bin/bash\n#SBATCH --job-name=$FILENAME\n$CMD\n")
    done = submit(tmp_path, "--slurm-array", "--slurm_sbatch_template", str(template))
    assert done.returncode == 0, done.stderr
    assert query(tmp_path / "w" / "pbt_tracker.db", "SELECT task_count FROM slurm_arrays") == [(1,), (1,), (1,)]


def test_held_template_experiments_share_one_array(tmp_path: Path):
    done = submit(tmp_path, "--slurm_array", "true", "--slurm_sbatch_template", str(FIXTURES / "held_template.sh"))
    assert done.returncode == 0, done.stderr
    ((text,),) = query(tmp_path / "w" / "pbt_tracker.db", "SELECT text FROM slurm_arrays")
    assert text.splitlines()[:3] == ["#!/bin/sh", "#SBATCH --hold", "#SBATCH --job-name=pbt-track-held"]


def test_without_slurm_array_nothing_goes_out_as_an_array(tmp_path: Path):
    done = submit(tmp_path, "--slurm_array", "false")
    assert done.returncode == 0, done.stderr
    db = tmp_path / "w" / "pbt_tracker.db"
    assert query(db, "SELECT count(*) FROM slurm_arrays") == [(0,)]
    assert query(db, "SELECT count(*) FROM submissions WHERE array_id IS NULL AND array_task IS NULL") == [(3,)]


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--slurm-array", "--slurm_array_limit", "0"), "Error: --slurm_array_limit must be 1 or more, not 0\n"),
        (("--slurm_array_limit", "2"), "Error: --slurm_array_limit needs --slurm_array true\n"),
    ],
)
def test_bad_array_options_are_one_line_and_record_nothing(tmp_path: Path, extra, message):
    done = submit(tmp_path, *extra)
    assert (done.returncode, done.stderr, done.stdout) == (1, message, "")
    assert not (tmp_path / "w" / "pbt_tracker.db").exists()


def test_launcher_module_takes_slurm_array_alone_or_with_a_value(tmp_path: Path):
    from pbt_tracker.launcher.run import parse_args

    base = ["--backend", "slurm", "--run", "x"]
    assert parse_args(base + ["--slurm_array"]).slurm_array is True
    assert parse_args(base + ["--slurm-array", "false"]).slurm_array is False
    assert parse_args(base).slurm_array is False
    assert parse_args(base + ["--slurm_array", "true", "--slurm-array-limit", "4"]).slurm_array_limit == 4



def test_a_script_that_cannot_be_written_fails_its_whole_array(tmp_path: Path):
    (tmp_path / "w" / "sbatch_01_echo_pbt.sh").mkdir(parents=True)  # a directory where the script should go
    done = submit(tmp_path, "--slurm-array")
    assert done.returncode == 1
    db = tmp_path / "w" / "pbt_tracker.db"
    message = f"cannot write {tmp_path}/w/sbatch_01_echo_pbt.sh: Is a directory"
    assert query(db, "SELECT state, submit_stderr FROM submissions ORDER BY id") == [("SUBMIT_FAILED", message)] * 3
    assert query(db, "SELECT job_id, submit_stderr FROM slurm_arrays") == [(None, message)]


def test_an_experiments_own_sbatch_command_becomes_its_arrays_without_its_tag():
    resources = SlurmResources(partition="gpu", gpus_per_job=2)
    own = sbatch_argv(Path("/w/sbatch_a.sh"), "/w/sbatch_a.sh-slurm-%j.out", resources)
    tagged = ["sbatch", "--comment=pbt-track:abc:7", *own[1:]]
    expected = array_sbatch_argv(Path("/w/arr.sh"), "/w/arr.sh-slurm-%A_%a.out", "0-4%2", resources)
    options = sbatch_options(tagged)
    assert options is not None
    assert array_argv_from(options, Path("/w/arr.sh"), "/w/arr.sh-slurm-%A_%a.out", "0-4%2") == expected
    assert sbatch_options(["sbatch", "x.sh"]) is None
