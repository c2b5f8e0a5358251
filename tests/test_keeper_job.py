"""The keeper job's script, and the lease rows two keepers compete for."""

import shlex
from datetime import datetime, timedelta

import pytest

from pbt_tracker.errors import OptionError
from pbt_tracker.keeper.job import check_time_limit, keeper_script
from pbt_tracker.store import lease as lease_store
from pbt_tracker.store import open_store


def test_the_keeper_job_is_one_cpu_signalled_before_its_limit_and_execs_the_keeper():
    text = keeper_script(["/opt/my venv/bin/python", "-m", "pbt_tracker"], ["--workdir", "/data/my runs", "--on-event", "notify me"], "24:00:00", "cpu")

    assert text == (
        "#!/bin/bash\n"
        "#SBATCH --job-name=pbt-track-keeper\n"
        "#SBATCH --cpus-per-task=1\n"
        "#SBATCH --ntasks=1\n"
        "#SBATCH --time=24:00:00\n"
        "#SBATCH --signal=B:USR1@120\n"
        "#SBATCH --partition=cpu\n"
        "exec '/opt/my venv/bin/python' -m pbt_tracker watch --workdir '/data/my runs' --on-event 'notify me' --as-keeper-job\n"
    )


@pytest.mark.parametrize("value", ["0", "UNLIMITED", "a day"])
def test_a_keeper_job_needs_a_real_time_limit(value: str):
    with pytest.raises(OptionError, match=r"^--keeper-time .* is not a Slurm time limit such as 24:00:00"):
        check_time_limit(value)


def test_the_lease_goes_to_one_keeper_until_it_expires_or_is_released(tmp_path):
    store = open_store(tmp_path)
    now = datetime(2026, 11, 29, 12, 0, 0)
    with store.write() as connection:
        assert lease_store.take_lease(connection, "a", "h", 1, now, now + timedelta(minutes=3)) is None
        held = lease_store.take_lease(connection, "b", "h", 2, now + timedelta(minutes=1), now + timedelta(minutes=4))
        assert held is not None and (held.holder, held.expires_at) == ("a", "2026-11-29 12:03:00.000000")
        assert lease_store.take_lease(connection, "a", "h", 1, now + timedelta(minutes=1), now + timedelta(minutes=4)) is None
        assert lease_store.take_lease(connection, "b", "h", 2, now + timedelta(minutes=4, seconds=1),
                                       now + timedelta(minutes=7)) is None
        lease_store.release_lease(connection, "a")  # no longer its lease: nothing happens
        assert lease_store.read_lease(connection).holder == "b"
        lease_store.release_lease(connection, "b")
        assert lease_store.read_lease(connection) is None
    store.close()


def test_the_keeper_job_names_the_pbt_track_that_wrote_it_by_absolute_path():
    """A keeper job sent from a shell whose PATH is the training environment's still runs this pbt-track."""
    import os
    import sys

    from pbt_tracker.processes import own_command

    assert own_command() == [os.path.abspath(sys.executable), "-m", "pbt_tracker"]
    assert keeper_script(own_command(), [], "1:00:00", None).splitlines()[-1] == (
        f"exec {shlex.quote(os.path.abspath(sys.executable))} -m pbt_tracker watch --as-keeper-job")
