"""Launches refused up front because Slurm would accept them and fail them at run time."""

import os
import stat
from pathlib import Path

import pytest

from pbt_tracker.backends.slurm.launch_checks import (
    MAX_EXPERIMENT_NAME_BYTES,
    check_log_names_fit,
    check_template_has_no_array,
    check_workdir_has_no_percent,
)
from pbt_tracker.errors import OptionError, RunDescriptionError, TemplateError
from pbt_tracker.files import make_dirs, share_with_group
from pbt_tracker.launch.specs import check_experiment_dirs_inside_train_dir

# --- a job array in the template ------------------------------------------------------


@pytest.mark.parametrize(
    "directive",
    ["#SBATCH --array=0-3", "#SBATCH --array 0-3", "#SBATCH -a 0-3", "#SBATCH -a0-3", "#SBATCH --arr=1,2",
     "#SBATCH -N 1 --array=0-9%2", "#SBATCH  --array=1-4  # sweep"],
)
def test_a_template_that_asks_for_an_array_is_refused_naming_the_line(directive):
    template = f"#!/bin/bash\n#SBATCH --time=$TIMEOUT\n{directive}\n$CMD\n"
    with pytest.raises(TemplateError) as excinfo:
        check_template_has_no_array(template, "t.sh")
    assert str(excinfo.value) == (
        f"template t.sh asks for a job array ({directive.strip()}); remove that line: pbt-track submits one job "
        "per experiment (--slurm_array sends them as one array)"
    )


@pytest.mark.parametrize(
    "template",
    [
        "#!/bin/bash\n#SBATCH -A project\n#SBATCH --account=a\n$CMD\n",
        "#!/bin/bash\n# SBATCH --array=0-3 is commented out for sbatch\n$CMD\n",
        "#!/bin/bash\n$CMD\n#SBATCH --array=0-3\n",  # after the first command sbatch reads no directives
        "#!/bin/bash\n#SBATCH --job-name=array-test\n$CMD --array=3\n",
        "#!/bin/bash\n#SBATCH --comment='--array'\n$CMD\n",
    ],
)
def test_a_template_without_an_array_directive_passes(template):
    check_template_has_no_array(template, "t.sh")


# --- '%' in the workdir ------------------------------------------------------------------


def test_a_workdir_with_a_percent_sign_is_refused():
    with pytest.raises(OptionError) as excinfo:
        check_workdir_has_no_percent(Path("/scratch/run_100%/logs"))
    assert str(excinfo.value) == (
        "the workdir /scratch/run_100%/logs contains '%', which Slurm would read as a pattern in the jobs' log "
        "names; use a workdir path without '%'"
    )


def test_a_workdir_without_a_percent_sign_passes():
    check_workdir_has_no_percent("/scratch/my runs/it's fine")


# --- log file names longer than a file name may be ------------------------------------


def test_the_longest_name_leaves_room_for_a_twenty_character_job_id():
    assert MAX_EXPERIMENT_NAME_BYTES == 214
    longest = "e" * 214
    assert len(f"sbatch_{longest}.sh-slurm-{'1' * 20}.out".encode()) == 255
    check_log_names_fit(["short", longest])


def test_an_experiment_name_one_byte_too_long_is_refused():
    name = "00_pbt_" + "x" * 208
    with pytest.raises(RunDescriptionError) as excinfo:
        check_log_names_fit(["short", name])
    assert str(excinfo.value) == (
        f"experiment name {name[:40]}... is 215 bytes long, too long for its Slurm log file name; keep experiment "
        "names to 214 bytes (shorten the parameter values, or set customize_experiment_name=False in the "
        "RunDescription)"
    )


def test_name_length_is_counted_in_bytes():
    with pytest.raises(RunDescriptionError, match="is 216 bytes long"):
        check_log_names_fit(["é" * 108])


# --- experiment dirs outside --train_dir ----------------------------------------------


@pytest.mark.parametrize("run_name", ["../../x", "/abs/run", "a/../../b", "..", "/../../x"])
def test_a_run_name_that_leaves_the_train_dir_is_refused(run_name):
    with pytest.raises(RunDescriptionError) as excinfo:
        check_experiment_dirs_inside_train_dir(run_name, "")
    assert str(excinfo.value) == (
        f"run name {run_name!r} would put experiment directories outside --train_dir; use a relative name "
        "without '..'"
    )


@pytest.mark.parametrize("suffix", ["/../../x", "/..", "a/../../.."])
def test_a_suffix_that_leaves_the_run_dir_is_refused(suffix):
    with pytest.raises(OptionError) as excinfo:
        check_experiment_dirs_inside_train_dir("ant_pbt", suffix)
    assert str(excinfo.value) == (
        f"--experiment_suffix {suffix!r} would put experiment directories outside their run's directory in "
        "--train_dir; use a suffix without '..'"
    )


@pytest.mark.parametrize(("run_name", "suffix"), [("ant_pbt", ""), ("ant_pbt", "v2"), ("group/ant_pbt", "seed..1"),
                                                    ("ant..pbt", "a/b"), ("ant_pbt", "../x"), ("ant_pbt", "..")])
def test_names_that_stay_inside_pass(run_name, suffix):
    """A suffix is appended to `<experiment>_`, so a leading `..` only makes an odd name, not a way out."""
    check_experiment_dirs_inside_train_dir(run_name, suffix)


# --- directories never world-writable ------------------------------------------------------


@pytest.fixture
def umask():
    def set_to(value):
        os.umask(value)

    previous = os.umask(0o022)
    yield set_to
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o000, 0o700), (0o022, 0o700), (0o077, 0o700), (0o072, 0o700)])
def test_make_dirs_makes_folders_their_owners_only_whatever_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    make_dirs(tmp_path / "train" / "ant_pbt" / "00_ant_")
    assert [mode(tmp_path / part) for part in ("train", "train/ant_pbt", "train/ant_pbt/00_ant_")] == [expected] * 3


def test_make_dirs_leaves_existing_directories_as_they_are(tmp_path, umask):
    umask(0)
    (tmp_path / "shared").mkdir(mode=0o777)
    make_dirs(tmp_path / "shared" / "mine")
    make_dirs(tmp_path / "shared" / "mine")  # again: nothing to do
    assert (mode(tmp_path / "shared"), mode(tmp_path / "shared" / "mine")) == (0o777, 0o700)


def test_make_dirs_of_a_relative_path(tmp_path, umask, monkeypatch):
    umask(0)
    monkeypatch.chdir(tmp_path)
    make_dirs("a/b")
    assert mode(tmp_path / "a" / "b") == 0o700


@pytest.mark.parametrize(("mask", "expected"), [(0o000, 0o750), (0o022, 0o750), (0o027, 0o750), (0o077, 0o700)])
def test_make_dirs_for_a_group_readable_launch_gives_the_group_read_unless_the_umask_takes_it(
        tmp_path, umask, mask, expected):
    umask(mask)
    share_with_group(True)
    make_dirs(tmp_path / "a" / "b")
    assert [mode(tmp_path / "a"), mode(tmp_path / "a" / "b")] == [expected] * 2


def test_make_dirs_where_a_file_is_is_an_error(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError):
        make_dirs(tmp_path / "f")
    with pytest.raises(NotADirectoryError):
        make_dirs(tmp_path / "f" / "sub")


def test_a_template_bash_cannot_parse_is_refused_before_anything_is_written():
    from pbt_tracker.backends.slurm.launch_checks import check_script_syntax

    with pytest.raises(TemplateError) as refused:
        check_script_syntax("#!/bin/bash\necho (\npython t.py\n", "my.sh")
    assert str(refused.value).startswith("template my.sh gives a job script bash cannot read (line 2: syntax error")
    assert str(refused.value).endswith("; fix the template")
    check_script_syntax("#!/bin/bash\npython t.py 'a(b'\n", "my.sh")
    check_script_syntax("#!/bin/zsh\necho (\n", "my.sh")  # another shell's syntax is its own
