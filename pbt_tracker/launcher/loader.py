"""Finding the RUN_DESCRIPTION a user points the launcher at."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from pbt_tracker.errors import RunDescriptionError
from pbt_tracker.launcher.elsewhere import Interpreter, describe_with, own_interpreter
from pbt_tracker.launcher.foreign_description import as_run_description
from pbt_tracker.run_description import RunDescription


def load_run_description(run: str | None, experiment_suffix: str = "") -> RunDescription:
    """Import `run` (a dotted module name, or a path to a .py file) and return its RUN_DESCRIPTION."""
    return describe(run, experiment_suffix)[0]


def describe(run: str | None, experiment_suffix: str = "", python: str | None = None,
             train_dir: str = "./train_dir") -> tuple[RunDescription, Interpreter]:
    """`run`'s RUN_DESCRIPTION, and the interpreter that read it: `python` when given, else this one.

    The current directory is importable, as under `python -m`, so that
    `--run experiments.my_run` works the same from the console script.
    `python` (the training environment's) reads it in a process of its own,
    for `train_dir` and the suffix; this interpreter never imports the module then.
    """
    if not run:
        raise RunDescriptionError(
            "no run given; pass --run with a module that defines RUN_DESCRIPTION, "
            "e.g. --run pbt_tracker.examples.ant_pbt"
        )
    if run.endswith(".py") and ("/" in run or os.path.isfile(run)):
        if not os.path.isfile(run):
            raise RunDescriptionError(f"run file {run} does not exist; pass the path of a .py file or a module name")
        kind = "file"
    elif run.startswith(".") or "/" in run:
        raise RunDescriptionError(
            f"cannot import run module {run}: give an absolute module name (a.b.c) or the path of a .py file"
        )
    else:
        kind = "module"
    if python:
        found, interpreter = describe_with(python, kind, run, train_dir, experiment_suffix)
    else:
        module = _import_file(run) if kind == "file" else _import_module(run)
        found, interpreter = getattr(module, "RUN_DESCRIPTION", None), own_interpreter()
        if found is None:
            raise RunDescriptionError(
                f"run module {run} defines no RUN_DESCRIPTION; assign a RunDescription to it "
                "(see pbt_tracker.examples)"
            )
    description = as_run_description(found, run)
    description.experiment_suffix = experiment_suffix
    return description, interpreter


def _import_module(name: str) -> ModuleType:
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and (name == error.name or name.startswith(error.name + ".")):
            raise RunDescriptionError(
                f"cannot import run module {name}: no module named {error.name}; pass a module "
                "importable from the current directory (a.b.c) or the path of a .py file, or, where it is installed "
                "in the training environment, that environment's interpreter with --python"
            ) from None
        raise _failed_import(name, error) from None
    except ValueError as error:  # e.g. a relative or empty module name
        raise RunDescriptionError(f"cannot import run module {name!r}: {error}") from None
    except (Exception, SystemExit) as error:
        raise _failed_import(name, error) from None


def _import_file(path: str) -> ModuleType:
    module_name = "_pbt_track_run_" + Path(path).stem.replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RunDescriptionError(f"cannot load run file {path}; pass a Python file or a module name")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        raise _failed_import(path, error, hint=f"python {path}") from None
    return module


def _failed_import(name: str, error: BaseException, hint: str | None = None) -> RunDescriptionError:
    detail = str(error).splitlines()[0] if str(error) else ""
    hint = hint or f"python -c 'import {name}'"
    elsewhere = (", or, where the training environment has what it lacks, pass that environment's interpreter "
                 "with --python") if isinstance(error, ModuleNotFoundError) else ""
    return RunDescriptionError(
        f"run module {name} failed while importing ({type(error).__name__}: {detail}); "
        f"run `{hint}` to see the traceback{elsewhere}"
    )
