"""Job scripts name the pbt-track that wrote them by absolute path (`$PBT_TRACK`), quoted for where it stands.

A job whose environment is the training one (a conda env of Python 3.8) has
no pbt-track on its PATH; `pbt-track continue` inside it must still reach
the pbt-track that launched it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pbt_tracker.backends.slurm.continuation import continuation_script
from pbt_tracker.backends.slurm.script import SlurmResources, check_template, render_script
from pbt_tracker.backends.slurm.shell_context import variable_places
from pbt_tracker.errors import TemplateError
from pbt_tracker.templates import template_text
from tests.conftest import write_program

OWN = shlex.join([os.path.abspath(sys.executable), "-m", "pbt_tracker"])


def test_each_place_of_a_variable_is_read_as_bash_reads_it() -> None:
    template = (
        "#!/bin/bash\n"                                   # 1
        "# a comment naming $PBT_TRACK\n"                 # 2
        "$PBT_TRACK continue  # and ${PBT_TRACK} here\n"  # 3
        "echo \"it is $PBT_TRACK\" 'or $PBT_TRACK'\n"      # 4
        "x=a#$PBT_TRACK\n"                                # 5: not a comment, the # is inside a word
        "echo \\\"$PBT_TRACK\n"                           # 6: an escaped quote opens nothing
        "cat <<'EOF' > f\n$PBT_TRACK\nEOF\n"              # 7-9
        "cat <<-END\n\t$PBT_TRACK\n\tEND\n"               # 10-12
        "$$PBT_TRACK\n"                                   # 13: the template's $$ is a literal dollar
        "env -u X ${PBT_TRACK} sync\n"                    # 14
    )
    assert variable_places(template, "PBT_TRACK") == [
        (2, "a comment"), (3, "unquoted"), (3, "a comment"), (4, "double quotes"), (4, "single quotes"),
        (5, "unquoted"), (6, "unquoted"), (8, "a quoted here-document"), (11, "a here-document"), (14, "unquoted"),
    ]


@pytest.mark.parametrize(("line", "context"), [
    ('"$PBT_TRACK" continue', "double quotes"),
    ("bash -c '$PBT_TRACK continue'", "single quotes"),
    ("bash <<EOF\n$PBT_TRACK continue\nEOF", "a here-document"),
])
def test_pbt_track_anywhere_its_words_would_be_read_otherwise_is_refused_in_one_line(line: str, context: str) -> None:
    with pytest.raises(TemplateError) as refused:
        check_template(f"#!/bin/bash\n$CMD\n{line}\n", "my.sh")
    assert str(refused.value) == (
        f"template my.sh puts $PBT_TRACK in {context} at line {3 if context != 'a here-document' else 4}; write it "
        "unquoted where a command starts: it stands for pbt-track's interpreter and `-m pbt_tracker`, quoted by "
        "pbt-track")


def test_pbt_track_is_this_pbt_track_by_absolute_path_each_word_quoted() -> None:
    template = "#!/bin/bash\n# continued by $PBT_TRACK\n$CMD || env -u X $PBT_TRACK continue --job 1\n"
    assert check_template(template, "t.sh") == []
    resources = SlurmResources()
    assert render_script(template, cmd="python t.py", filename="/w/s.sh", resources=resources).splitlines()[1:] == [
        f"# continued by {OWN}", f"python t.py || env -u X {OWN} continue --job 1"]
    odd = ["/opt/my envs/it's $HOME/bin/python", "-m", "pbt_tracker"]
    assert render_script(template, cmd="c", filename="f", resources=resources, pbt_track=odd).splitlines()[2] == (
        "c || env -u X '/opt/my envs/it'\"'\"'s $HOME/bin/python' -m pbt_tracker continue --job 1")


def test_a_pbt_track_path_with_a_line_break_is_refused_rather_than_written() -> None:
    with pytest.raises(TemplateError, match=r"^pbt-track's command .* holds a line break, which a job script cannot "
                                            r"hold safely; install pbt-track under a path without one$"):
        render_script("# $PBT_TRACK\n$CMD\n", cmd="c", filename="f", resources=SlurmResources(),
                      pbt_track=["/a\nrm -rf ~/b/python"])
    assert render_script("$CMD\n", cmd="c", filename="f", resources=SlurmResources(), pbt_track=["/a\nb"]) == "c\n"


def test_the_shipped_template_keeps_every_line_in_order_and_names_pbt_track_by_path() -> None:
    shipped = template_text("timeout_continue")
    as_before = shipped.replace("$PBT_TRACK continue", "pbt-track continue")
    rendered = render_script(shipped, cmd="python t.py", filename="/w/s.sh", resources=SlurmResources(timeout="1"))
    before = render_script(as_before, cmd="python t.py", filename="/w/s.sh", resources=SlurmResources(timeout="1"))
    assert rendered == before.replace("pbt-track continue --workdir", f"{OWN} continue --workdir")
    assert rendered.count(f"env -u SLURM_RESTART_COUNT {OWN} continue --workdir") == 2
    continuation = continuation_script(shipped, "timeout_continue.sh", "python t.py ++pbt_restart=True",
                                       Path("/w/continuations/sbatch_a.2.sh"), SlurmResources(timeout="1"), "a")
    assert continuation.count(f"env -u SLURM_RESTART_COUNT {OWN} continue --workdir") == 2


def test_a_job_without_pbt_track_on_its_path_still_reaches_it(tmp_path: Path) -> None:
    """A requeued job under a PATH that has bash but no pbt-track (a training environment's) calls it by its path."""
    stand_in = write_program(tmp_path / "pbt-track's home", "pbt-track",
                             '#!/bin/sh\necho "pbt-track $*" >> "$0.calls"\n')
    script = tmp_path / "w" / "sbatch_a.sh"
    script.parent.mkdir()
    script.write_text(render_script(template_text("timeout_continue"), cmd="touch ran", filename=str(script),
                                    resources=SlurmResources(timeout="1"), pbt_track=[str(stand_in)]))
    done = subprocess.run(["/bin/bash", str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "SLURM_JOB_ID": "77", "SLURM_RESTART_COUNT": "1"})
    assert (done.returncode, done.stderr) == (
        0, "pbt-track: job 77 was requeued; its experiment continues in a new attempt\n")
    assert Path(f"{stand_in}.calls").read_text() == f"pbt-track continue --workdir {tmp_path / 'w'} --job 77\n"
    assert not (tmp_path / "ran").exists()
