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

EXAMPLE = "--python ~/miniconda3/envs/<env>/bin/python"


def settled_python(given: str | None, recorded: bool) -> str | None:
    """The interpreter as an absolute path, or None for pbt-track's own; a recorded one is taken as it was."""
    if recorded:
        return given or None
    source = "--python"
    if not given:
        given, source = settings.training_python(), "PBT_TRACK_PYTHON"
    if not given:
        return None
    path = os.path.abspath(os.path.expanduser(given))
    if not os.path.lexists(path):
        raise OptionError(f"{source} {given} does not exist; name the training environment's interpreter, "
                          f"e.g. {EXAMPLE}")
    if os.path.isdir(path):
        raise OptionError(f"{source} {given} is a directory; name the interpreter inside it, e.g. {EXAMPLE}")
    if not os.path.exists(path):
        raise OptionError(f"{source} {given} is a broken link; name the training environment's interpreter, "
                          f"e.g. {EXAMPLE}")
    if not os.access(path, os.X_OK):
        raise OptionError(f"{source} {given} is not executable; name the training environment's interpreter, "
                          f"e.g. {EXAMPLE}")
    return path
