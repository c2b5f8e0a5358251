"""Where jobs send their own successors, cancel reads the record up to date before scancel, and not before checking.

The scheduler is stand-in programs on PATH that log each call: the order of
the calls is what is asserted, which a real Slurm would not show. The real
chain is followed and cancelled in tests/slurm/test_record_true_on_slurm.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import file_digest

CHAINING = "#!/bin/bash\ntimeout $TIMEOUT $CMD\nif [[ $$? -eq 124 ]]; then\n    sbatch $FILENAME\nfi\n"
HELD = "#!/bin/bash\n#SBATCH --hold\n$CMD\n"


@pytest.fixture
def submitted(in_repo: Path, tmp_path: Path, fake_bin):  # type: ignore[no-untyped-def]
    """Three jobs from a template of the given text, listed RUNNING; every scheduler call is logged."""
    calls = tmp_path / "calls"

    def submit(template_text: str) -> tuple[Path, Path]:
        counter = tmp_path / "next-id"
        counter.write_text("7764")
        fake_bin("sbatch", f'#!/bin/sh\nid=$(cat {counter}); echo $((id + 1)) > {counter}; echo "$id"\n')
        listing = "".join(f"{job}|RUNNING|0|vm|N/A|N/A|N/A|||None||\\n" for job in (7764, 7765, 7766))
        fake_bin("squeue", f'#!/bin/sh\necho squeue >> {calls}\nprintf "{listing}"\n')
        fake_bin("scancel", f"#!/bin/sh\necho scancel >> {calls}\n")
        template = tmp_path / "template.sh"
        template.write_text(template_text)
        work = tmp_path / "work"
        done = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
                                        "--workdir", str(work), "--pause_between", "0", "--slurm_timeout", "60",
                                        "--slurm_sbatch_template", str(template), "--train_dir", str(tmp_path / "t")])
        assert done.exit_code == 0, done.output
        return work, calls

    return submit


def test_cancel_syncs_before_scancel_only_where_jobs_send_successors(submitted) -> None:  # type: ignore[no-untyped-def]
    work, calls = submitted(CHAINING)

    done = CliRunner().invoke(cli, ["cancel", "--experiment", "00_echo_pbt", "--workdir", str(work)])

    assert done.exit_code == 0, done.output
    assert done.stdout == "Cancelled 00_echo_pbt (job 7764)\n"
    assert calls.read_text().split() == ["squeue", "scancel", "squeue"]


def test_held_jobs_are_cancelled_without_a_sync_first(submitted) -> None:  # type: ignore[no-untyped-def]
    work, calls = submitted(HELD)

    done = CliRunner().invoke(cli, ["cancel", "--experiment", "00_echo_pbt", "--workdir", str(work)])

    assert done.exit_code == 0, done.output
    assert calls.read_text().split() == ["scancel", "squeue"]


def test_a_name_that_matches_nothing_is_refused_before_the_sync_writes(submitted) -> None:  # type: ignore[no-untyped-def]
    work, calls = submitted(CHAINING)
    before = file_digest(work / "pbt_tracker.db"), file_digest(work / "pbt_tracker.db-wal")

    done = CliRunner().invoke(cli, ["cancel", "--experiment", "nosuch", "--workdir", str(work)])

    assert done.exit_code == 1
    assert done.stderr == ("Error: no experiment named nosuch in this workdir; `pbt-track report` lists the "
                           "experiments\n")
    assert not calls.exists()
    assert (file_digest(work / "pbt_tracker.db"), file_digest(work / "pbt_tracker.db-wal")) == before
