"""The python setting: the training environment's interpreter, named by --python or PBT_TRACK_PYTHON.

IsaacGymEnvs trains in an environment of its own (Isaac Gym wants Python 3.6
to 3.8) that pbt-track cannot be installed in. The setting names that
environment's interpreter: run descriptions are read with it, and local
experiments' `python` is it. It is checked here before anything runs, and
recorded as an absolute path (not resolved: a virtualenv's python is a link
whose place decides its environment), so that a resubmission from another
directory or shell runs the same one.
"""

from __future__ import annotations

import os

from pbt_tracker import settings
from pbt_tracker.errors import OptionError

EXAMPLE = "~/miniconda3/envs/<env>/bin/python"
ADVICE = f"pass the training environment's interpreter, e.g. --python {EXAMPLE}"


def settled_python(given: str | None, recorded: bool) -> str | None:
    """The interpreter as an absolute path, or None for pbt-track's own; a recorded one is taken as it was."""
    if recorded:
        return given or None
    source, advice = "--python", ADVICE
    if not given:
        given = settings.training_python()
        source, advice = "PBT_TRACK_PYTHON", f"set it to the training environment's interpreter (e.g. {EXAMPLE}) or unset it"
    if not given:
        return None
    path = os.path.abspath(os.path.expanduser(given))
    if not os.path.lexists(path):
        raise OptionError(f"{source} {given} does not exist; {advice}")
    if os.path.isdir(path):
        inside = os.path.join(given, "bin", "python")
        raise OptionError(f"{source} {given} is a directory; " + (
            f"pass the interpreter inside it, e.g. --python {inside}" if source == "--python"
            else f"set it to the interpreter inside it, e.g. {inside}"))
    if not os.path.exists(path):
        raise OptionError(f"{source} {given} is a broken link; {advice}")
    if not os.access(path, os.X_OK):
        raise OptionError(f"{source} {given} is not executable; {advice}")
    return path
