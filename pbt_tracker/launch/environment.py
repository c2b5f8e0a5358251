"""The part of a launch's environment that chooses the software its jobs run, kept so that every later attempt
runs with it.

Slurm hands a job the environment of the process that ran sbatch (`--export=ALL`,
its default), and a local attempt inherits its sender's. A continuation sent by
the keeper from another shell, a login without the virtualenv activated or a
keeper job on a compute node would otherwise run `python` from another
environment than the launch did, and fail at once or, worse, train on.
Only these variables are kept: they choose interpreters and libraries, hold
no secrets, and are what activating a virtualenv or conda env changes.
"""

from __future__ import annotations

from collections.abc import Mapping

CHOICES = ("PATH", "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "PYTHONPATH", "PYTHONHOME",
           "LD_LIBRARY_PATH")


def chosen(environ: Mapping[str, str]) -> dict[str, str]:
    """What the launch records: each choice the environment makes, and by its absence each it does not."""
    return {name: environ[name] for name in CHOICES if name in environ}


def as_launched(recorded: object, environ: Mapping[str, str]) -> dict[str, str] | None:
    """The sender's environment with the launch's choices in place of its own; None for a launch recorded
    before environments were (its attempts keep the sender's, as they always did).

    A choice the launch did not make is removed, so that a virtualenv active
    in the sender's shell does not leak into a launch made without one.
    """
    if not isinstance(recorded, dict):
        return None
    environment = {name: value for name, value in environ.items() if name not in CHOICES}
    environment.update({str(name): str(value) for name, value in recorded.items() if name in CHOICES})
    return environment
