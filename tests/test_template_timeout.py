"""`--slurm_timeout` is checked by what the template does with `$TIMEOUT`, on literal templates."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from pbt_tracker.backends.slurm.timeout import (
    TimeoutUse,
    check_timeout_for_template,
    is_gnu_duration,
    is_slurm_time,
    timeout_uses,
)
from pbt_tracker.errors import OptionError

SBATCH_TIME = "#!/bin/bash\n#SBATCH --job-name=x\n#SBATCH --time=$TIMEOUT\n$CMD\n"
GNU_TIMEOUT = "#!/bin/bash\ncd ~/project\ntimeout $TIMEOUT $CMD\nexit $$?\n"
BOTH = "#!/bin/bash\n#SBATCH -t $TIMEOUT\ntimeout --signal=TERM -k 30 \"$TIMEOUT\" $CMD\n"

SLURM_TIMES = ["0", "90", "90:30", "24:00:00", "1-0", "1-12", "1-12:30", "1-00:00:00", "UNLIMITED", "infinite"]
NOT_SLURM_TIMES = ["23h", "1.5h", "", "-5", "1:00:00:00", "2 days", "1-", "24:00:00s", "10:000", " 30", "abc",
                   "\u0663\u0660", "\uff13\uff10"]
GNU_DURATIONS = ["0", "3600", "90m", "23h", "1.5h", "2d", ".5", "10.", "30s"]
NOT_GNU_DURATIONS = ["24:00:00", "1-00:00:00", "", "-5", "1h30m", "UNLIMITED", "5x", "1 h", "\u0663\u0660"]


@pytest.mark.parametrize("value", SLURM_TIMES)
def test_slurm_times(value: str) -> None:
    assert is_slurm_time(value)


@pytest.mark.parametrize("value", NOT_SLURM_TIMES)
def test_not_slurm_times(value: str) -> None:
    assert not is_slurm_time(value)


@pytest.mark.parametrize("value", GNU_DURATIONS)
def test_gnu_durations(value: str) -> None:
    assert is_gnu_duration(value)


@pytest.mark.parametrize("value", NOT_GNU_DURATIONS)
def test_not_gnu_durations(value: str) -> None:
    assert not is_gnu_duration(value)


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs GNU timeout")
def test_gnu_timeout_itself_agrees_on_every_literal() -> None:
    """What is accepted runs `true` (exit 0); what is refused makes timeout exit 125 at once."""
    for value in GNU_DURATIONS + NOT_GNU_DURATIONS:
        code = subprocess.run(["timeout", value, "true"], capture_output=True).returncode
        assert code == (0 if is_gnu_duration(value) else 125), value


def test_uses_are_found_with_their_line_and_rendered_word() -> None:
    assert timeout_uses(SBATCH_TIME, "24:00:00") == [TimeoutUse(3, "#SBATCH --time", "24:00:00")]
    assert timeout_uses(GNU_TIMEOUT, "23h") == [TimeoutUse(3, "timeout", "23h")]
    assert timeout_uses(BOTH, "90") == [TimeoutUse(2, "#SBATCH --time", "90"), TimeoutUse(3, "timeout", "90")]


@pytest.mark.parametrize("template, rendered", [
    ("#SBATCH --time $TIMEOUT\n", "5"),
    ("#SBATCH -t${TIMEOUT}\n", "5"),
    ("#SBATCH --time-min=${TIMEOUT}:00\n", "5:00"),
    ("/usr/bin/timeout --preserve-status ${TIMEOUT}m $CMD\n", "5m"),
    ("srun timeout -s INT '$TIMEOUT' $CMD\n", "5"),
    ("exec timeout --kill-after=$TIMEOUT 10 $CMD\n", "5"),
])
def test_spellings_of_each_use(template: str, rendered: str) -> None:
    assert [use.rendered for use in timeout_uses(template, "5")] == [rendered]


@pytest.mark.parametrize("template", [
    "#!/bin/bash\necho limit $TIMEOUT\n$CMD\n",
    "#!/bin/bash\n#SBATCH --comment=$TIMEOUT\n$CMD\n",
    "#!/bin/bash\n$CMD\n#SBATCH --time=$TIMEOUT\n",  # after the first command sbatch reads no directive
    "#!/bin/bash\ntimeout 10 $CMD $TIMEOUT\n",  # an argument of the command, not timeout's
])
def test_values_are_free_where_the_template_does_not_constrain_them(template: str) -> None:
    assert timeout_uses(template, "two days") == []
    assert check_timeout_for_template(template, "two days", "t.sh") == []


def test_a_gnu_duration_is_refused_by_sbatch_time_naming_the_line() -> None:
    with pytest.raises(OptionError) as caught:
        check_timeout_for_template(SBATCH_TIME, "23h", "my.sh")
    assert str(caught.value) == (
        "--slurm_timeout '23h' cannot go to #SBATCH --time at line 3 of template my.sh: "
        "give a Slurm time such as 90 (minutes), 24:00:00 or 1-00:00:00 (0 means no limit)"
    )


def test_a_slurm_time_is_refused_by_timeout_naming_the_line() -> None:
    with pytest.raises(OptionError) as caught:
        check_timeout_for_template(GNU_TIMEOUT, "24:00:00", "my.sh")
    assert str(caught.value) == (
        "--slurm_timeout '24:00:00' cannot go to `timeout` at line 3 of template my.sh: "
        "give a GNU timeout duration such as 3600, 90m, 23h or 1.5h (0 means no limit)"
    )


@pytest.mark.parametrize("value, refused_at", [("90", None), ("0", None), ("1.5h", 2), ("1-00:00:00", 3)])
def test_a_template_with_both_uses_needs_a_value_fit_for_both(value: str, refused_at: int | None) -> None:
    if refused_at is None:
        assert check_timeout_for_template(BOTH, value, "both.sh") == []
        return
    with pytest.raises(OptionError, match=f"at line {refused_at} of template both.sh"):
        check_timeout_for_template(BOTH, value, "both.sh")


def test_a_value_the_template_never_uses_is_pointed_out() -> None:
    assert check_timeout_for_template("#!/bin/bash\n$CMD\n", "23h", "built-in") == [
        "--slurm_timeout 23h has no effect: the sbatch template has no $TIMEOUT "
        "(add `#SBATCH --time=$TIMEOUT` to a template of your own)"
    ]
    assert check_timeout_for_template("#!/bin/bash\n$CMD\n", "0", "built-in") == []
    # `$$TIMEOUT` is the job's own variable, not pbt-track's value
    assert timeout_uses("#!/bin/bash\ntimeout $$TIMEOUT $CMD\n", "23h") == []
    assert len(check_timeout_for_template("#!/bin/bash\ntimeout $$TIMEOUT $CMD\n", "23h", "t.sh")) == 1
