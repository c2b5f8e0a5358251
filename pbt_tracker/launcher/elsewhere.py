"""A RUN_DESCRIPTION read by the training environment's interpreter, rebuilt here from the data it handed back.

The run module imports the training code, which may need a Python that
pbt-track does not run on; so `describe_child.py` imports it under that
interpreter and answers with plain data. Here that data becomes an object
with the same public interface as the original, for launcher/foreign_description
to read as it reads any other launcher's description: the same checks, the
same messages, the same experiments.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, NamedTuple

from pbt_tracker.errors import OptionError, RunDescriptionError
from pbt_tracker.launch.python_setting import ADVICE

CHILD = Path(__file__).with_name("describe_child.py")
PACKAGE_DIR = Path(__file__).resolve().parent.parent


class Interpreter(NamedTuple):
    """The Python that read a run description."""

    path: str
    version: str

    def __str__(self) -> str:
        return f"{self.path} (Python {self.version})"


def own_interpreter() -> Interpreter:
    return Interpreter(os.path.abspath(sys.executable), platform.python_version())


def describe_with(python: str, kind: str, run: str, train_dir: str, suffix: str) -> tuple[Any, Interpreter]:
    """`run` (a module name, or a file when `kind` is "file") imported by `python`: its description, rebuilt."""
    answer = _ask(python, kind, run, train_dir, suffix)
    interpreter = Interpreter(python, str(answer.get("version")))
    found = answer["description"]
    for message in found.get("warnings", ()):
        warnings.warn(message, UserWarning, stacklevel=2)

    def again(train_dir: str, suffix: str) -> dict[str, Any]:
        return _ask(python, kind, run, train_dir, suffix)["description"]

    return _rebuilt(found, (train_dir, suffix), again, run, interpreter), interpreter


def _ask(python: str, kind: str, run: str, train_dir: str, suffix: str) -> dict[str, Any]:
    argv = [python, str(CHILD), str(PACKAGE_DIR), kind, run, train_dir, suffix]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True)
    except PermissionError:
        raise OptionError(f"the training interpreter {python} is not executable; {ADVICE}") from None
    except OSError as error:
        raise OptionError(f"the training interpreter {python} cannot be started ({error.strerror}); {ADVICE}") from None
    stderr = done.stderr.decode(errors="replace")
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or "version" not in answer:
        last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
        raise OptionError(
            f"the training interpreter {python} did not answer as Python 3.6 or later does (exit {done.returncode}"
            f"{': ' + last if last else ''}); {ADVICE}"
        )
    refused = answer.get("error")
    if refused:  # one line: what the module printed before it failed is for `python -c 'import ...'` to show
        raise _refusal(refused, Interpreter(python, str(answer["version"])), kind, run)
    if stderr:
        sys.stdout.write(stderr)  # what the run module printed while it was imported, where an import here prints it
    return answer


def _refusal(error: dict[str, Any], interpreter: Interpreter, kind: str, run: str) -> Exception:
    what = error.get("kind")
    if what == "too_old":
        return OptionError(f"the training interpreter {interpreter.path} is Python {interpreter.version}, and run "
                           f"descriptions are read with Python 3.6 or later; {ADVICE}")
    if what == "not_found":
        return RunDescriptionError(
            f"{interpreter} cannot import run module {run}: no module named {error.get('missing')}; install it in "
            "that environment, or pass a module importable from the current directory (a.b.c) or the path of a "
            "run file, or the interpreter of the environment that has it (--python)"
        )
    if what == "no_description":
        return RunDescriptionError(
            f"run module {run} defines no RUN_DESCRIPTION; assign a RunDescription to it (see pbt_tracker.examples)"
        )
    hint = f"{shlex.quote(interpreter.path)} " + (shlex.quote(run) if kind == "file" else f"-c 'import {run}'")
    doing = {"import": "while importing", "generate": "in generate_experiments"}.get(str(what), "while it was read")
    return RunDescriptionError(
        f"run module {run} failed {doing} under {interpreter} ({error.get('type')}: {error.get('detail')}); "
        f"run `{hint}` to see the traceback"
    )


class _Described:
    """A RUN_DESCRIPTION as the training interpreter saw it: what it has of the interface, and what it generated."""

    def __init__(self, found: dict[str, Any], key: tuple[str, str], again: Any, run: str,
                 interpreter: Interpreter) -> None:
        self._found = {key: found}
        self._again, self._run, self._interpreter = again, run, interpreter
        for name, value in found["attributes"].items():
            setattr(self, name, value)
        if found["experiments"] != "missing":
            self.experiments = None if found["experiments"] is None else [
                _thing(experiment["type"], experiment["attributes"]) for experiment in found["experiments"]
            ]
        if found["generate"] == "not callable":
            setattr(self, "generate_experiments", None)  # noqa: B010 - an attribute of the original's, not a method


class _Generating(_Described):
    def generate_experiments(self, train_dir: str, makedirs: bool = True) -> Any:
        """What the original's generator yielded for this train dir and suffix (asked again for others)."""
        key = (train_dir, getattr(self, "experiment_suffix", ""))
        if key not in self._found:
            self._found[key] = self._again(*key)
        found = self._found[key]
        if "generate_error" in found:
            raise _refusal(found["generate_error"], self._interpreter, "module", self._run)
        for entry in found.get("generated", ()):
            if "tuple" not in entry:
                yield _thing(entry["other"], {"__repr__": _constant(entry["repr"])}, on_class=True)
                continue
            items = tuple(entry["tuple"])
            if makedirs and len(items) >= 3:
                from pbt_tracker.files import make_dirs

                make_dirs(os.path.join(train_dir, str(items[2])))
            yield items


def _rebuilt(found: dict[str, Any], key: tuple[str, str], again: Any, run: str, interpreter: Interpreter) -> Any:
    base = _Described if found["generate"] == "missing" else _Generating
    return type(found["type"], (base,), {})(found, key, again, run, interpreter)


def _thing(type_name: str, attributes: dict[str, Any], on_class: bool = False) -> Any:
    """An object of a class named as the original's was, with the attributes it had."""
    if on_class:
        return type(type_name, (), attributes)()
    thing = type(type_name, (), {})()
    for name, value in attributes.items():
        setattr(thing, name, value)
    return thing


def _constant(text: str) -> Any:
    return lambda _self: text
