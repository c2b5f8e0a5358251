"""pbt-track's tag is added to the template's own `#SBATCH --comment`, and sync still finds it: literal strings."""

from __future__ import annotations

from pathlib import Path

from pbt_tracker.backends.slurm.array import array_argv_from, sbatch_options
from pbt_tracker.backends.slurm.output import SQUEUE_USER_FIELDS, parse_squeue
from pbt_tracker.backends.slurm.script import SlurmResources, sbatch_argv, sbatch_comment
from pbt_tracker.backends.slurm.sync import Listing
from pbt_tracker.backends.slurm.tags import tag_argument, with_tag, without_tag

TAG = "pbt-track:abc123:7"
SCRIPT = Path("/w/sbatch_00_x.sh")
LOG = "/w/sbatch_00_x.sh-slurm-%j.out"


def test_the_templates_comment_is_read_from_its_directives() -> None:
    assert sbatch_comment("#!/bin/bash\n#SBATCH --comment=mine\n$CMD\n") == "mine"
    assert sbatch_comment('#!/bin/bash\n#SBATCH --job-name=x\n#SBATCH --comment="two words"\necho\n') == "two words"
    assert sbatch_comment("#!/bin/bash\n#SBATCH --comment first\n#SBATCH --comment=last\n") == "last"
    assert sbatch_comment("#!/bin/bash\necho hi\n#SBATCH --comment=too-late\n") is None
    assert sbatch_comment("#!/bin/bash\n#SBATCH --time=10\n") is None


def test_the_experiments_command_carries_the_templates_comment() -> None:
    assert sbatch_argv(SCRIPT, LOG, SlurmResources(), "two words") == [
        "sbatch", "--comment=two words", "--gres=gpu:1", "-c", "16", "--parsable", "--output", LOG, str(SCRIPT)
    ]
    assert "--comment" not in " ".join(sbatch_argv(SCRIPT, LOG, SlurmResources(), None))


def test_the_tag_goes_first_and_the_users_comment_after_it() -> None:
    argv = sbatch_argv(SCRIPT, LOG, SlurmResources(), "two words")
    tagged = with_tag(argv, TAG)
    assert tagged[:3] == ["sbatch", "--comment=pbt-track:abc123:7 two words", "--gres=gpu:1"]
    assert tagged[1].startswith(tag_argument(TAG)) and tagged.count("--comment=two words") == 0


def test_without_a_users_comment_the_tag_is_alone() -> None:
    assert with_tag(["sbatch", "--parsable", "s.sh"], TAG) == ["sbatch", "--comment=pbt-track:abc123:7", "--parsable", "s.sh"]


def test_retagging_a_resubmission_keeps_the_users_comment_once() -> None:
    first = with_tag(["sbatch", "--comment=mine", "--parsable", "s.sh"], TAG)
    again = with_tag(first, "pbt-track:abc123:9")
    assert again == ["sbatch", "--comment=pbt-track:abc123:9 mine", "--parsable", "s.sh"]


def test_untagging_gives_the_users_comment_back_its_own_argument() -> None:
    assert without_tag(["--comment=pbt-track:abc123:7 two words", "-c", "4"]) == ["--comment=two words", "-c", "4"]
    assert without_tag(["--comment=pbt-track:abc123:7", "-c", "4"]) == ["-c", "4"]


def test_a_resubmitted_array_keeps_the_users_comment() -> None:
    own = with_tag(sbatch_argv(SCRIPT, LOG, SlurmResources(), "mine"), TAG)
    options = sbatch_options(own)
    assert options == ["--comment=mine", "--gres=gpu:1", "-c", "16", "--parsable"]
    array = with_tag(array_argv_from(options, Path("/w/a.sh"), "/w/a-%A_%a.out", "0-1"), "pbt-track:abc123:array2")
    assert array[1] == "--comment=pbt-track:abc123:array2 mine"


def test_sync_finds_a_tag_inside_a_longer_comment() -> None:
    text = "".join(
        f"{job_id}|PENDING|0||N/A|N/A|N/A|/w/s.sh|/w/s.sh-%j.out|Priority|{comment}|\n"
        for job_id, comment in (("41", "pbt-track:abc123:7 two words"), ("42", "mine pbt-track:abc123:8"),
                                ("43_0", "pbt-track:abc123:array2 mine"), ("44", "someone else's job"),
                                ("45", "pbt-track:abc123:9"))
    )
    assert Listing(parse_squeue(text, None, SQUEUE_USER_FIELDS), complete=True).tagged() == {
        "pbt-track:abc123:7": ["41"],
        "pbt-track:abc123:8": ["42"],
        "pbt-track:abc123:array2": ["43_0"],
        "pbt-track:abc123:9": ["45"],
    }
