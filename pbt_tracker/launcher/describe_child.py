"""Run by the training environment's interpreter: import a run module there, hand its experiments back as JSON.

Isaac Gym runs on Python 3.6 to 3.8 and pbt-track on 3.11 and later, while an
IsaacGymEnvs run module imports the training code's own classes; so pbt-track
starts this file with the interpreter the user names (`--python`) and reads
what it answers. pbt-track never imports it: it is run as a file, uses the
standard library only, and is written in syntax that even Python 2.7 parses,
so that an interpreter too old is told so rather than failing on a syntax error.

It answers with what pbt-track's own reading of a RUN_DESCRIPTION needs
(launcher/foreign_description.py): the description's public attributes, its
experiments' attributes and what its `generate_experiments` yielded, plain
values only, in one JSON object on the standard output it was given. While
the run module runs, that output is moved to the standard error, so nothing
the module prints can spoil the answer.

pbt-track's package directory (not its environment) is made the package
`pbt_tracker` here, for run modules written with `pbt_tracker.run_description`.

    python describe_child.py PACKAGE_DIR (module|file) RUN TRAIN_DIR SUFFIX
"""

import json
import os
import sys
import traceback

MYPY = False  # mypy takes it as True; no typing module is imported at run time, where Python 2.7 has none
if MYPY:
    from types import ModuleType
    from typing import Any, Dict, List, Sequence

OLDEST = (3, 6)
DESCRIPTION_ATTRIBUTES = ("run_name", "experiment_arg_name", "experiment_dir_arg_name",
                          "customize_experiment_name", "param_prefix", "experiment_suffix")
EXPERIMENT_ATTRIBUTES = ("base_name", "cmd", "env_vars")


def main(argv):
    # type: (List[str]) -> int
    answer_fd = os.dup(1)
    os.dup2(2, 1)  # what the run module prints, from Python or from C, goes to stderr
    try:
        answer = {"python": sys.executable, "version": "%d.%d.%d" % tuple(sys.version_info[:3])}  # type: Dict[str, Any]
        if tuple(sys.version_info[:2]) < OLDEST:
            answer["error"] = {"kind": "too_old"}
        else:
            answer.update(describe(*argv))
    except BaseException as error:  # noqa: B036 - whatever happens, the answer says it in one line
        answer["error"] = failure("internal", error)
        traceback.print_exc()
    data = json.dumps(answer).encode("utf-8")
    while data:
        data = data[os.write(answer_fd, data):]
    return 0


def describe(package_dir, kind, run, train_dir, suffix):
    # type: (str, str, str, str, str) -> Dict[str, Any]
    own_directory = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != own_directory]
    sys.path.insert(0, os.getcwd())  # as for `python -m`: run modules are named from the current directory
    own_package(package_dir)
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        try:
            module = import_file(run) if kind == "file" else import_module(run)
        except ImportError as error:
            missing = getattr(error, "name", None)
            if type(error).__name__ == "ModuleNotFoundError" and missing and (
                    run == missing or run.startswith(missing + ".")):
                return {"error": {"kind": "not_found", "missing": missing}}
            return {"error": failure("import", error)}
        except BaseException as error:  # noqa: B036 - SystemExit and KeyboardInterrupt of the module's own too
            if isinstance(error, KeyboardInterrupt):
                raise
            return {"error": failure("import", error)}
        if getattr(module, "RUN_DESCRIPTION", None) is None:
            return {"error": {"kind": "no_description"}}
        try:
            description = read_description(module.RUN_DESCRIPTION, train_dir, suffix)
        except Exception as error:
            return {"error": failure("read", error)}
    description["warnings"] = [str(warning.message) for warning in caught]
    return {"description": description}


def own_package(package_dir):
    # type: (str) -> None
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "pbt_tracker", os.path.join(package_dir, "__init__.py"), submodule_search_locations=[package_dir])
    if spec is None or spec.loader is None:
        raise ImportError("cannot load pbt_tracker from %s" % package_dir)
    module = importlib.util.module_from_spec(spec)
    sys.modules["pbt_tracker"] = module
    spec.loader.exec_module(module)


def import_module(name):
    # type: (str) -> ModuleType
    import importlib

    return importlib.import_module(name)


def import_file(path):
    # type: (str) -> ModuleType
    import importlib.util

    stem = os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location("_pbt_track_run_" + stem, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load %s as a Python file" % path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_description(description, train_dir, suffix):
    # type: (Any, str, str) -> Dict[str, Any]
    """The description as pbt-track reads one: what it has of the interface, and what it generates.

    A failing generator is reported beside the rest, for pbt-track to raise
    where it would have raised, after its checks of the interface.
    """
    found = {"type": type(description).__name__, "attributes": attributes(description, DESCRIPTION_ATTRIBUTES)}  # type: Dict[str, Any]
    generate = getattr(description, "generate_experiments", None)  # type: Any
    found["generate"] = "missing" if not hasattr(description, "generate_experiments") else (
        "callable" if callable(generate) else "not callable")
    if not hasattr(description, "experiments"):
        found["experiments"] = "missing"
        return found
    try:
        experiments = list(description.experiments)
    except TypeError:
        found["experiments"] = None
        return found
    found["experiments"] = [read_experiment(experiment) for experiment in experiments]
    if found["generate"] == "callable":
        try:
            description.experiment_suffix = suffix
        except AttributeError:
            pass
        found["attributes"]["experiment_suffix"] = plain(getattr(description, "experiment_suffix", ""))
        try:
            found["generated"] = [entry_of(entry) for entry in generate(train_dir, makedirs=False)]
        except Exception as error:
            found["generate_error"] = failure("generate", error)
    return found


def read_experiment(experiment):
    # type: (Any) -> Dict[str, Any]
    found = {"type": type(experiment).__name__, "attributes": attributes(experiment, EXPERIMENT_ATTRIBUTES)}  # type: Dict[str, Any]
    if hasattr(experiment, "params"):
        found["attributes"]["params"] = [plain(params) for params in experiment.params]
    return found


def attributes(thing, names):
    # type: (Any, Sequence[str]) -> Dict[str, Any]
    return dict((name, plain(getattr(thing, name))) for name in names if hasattr(thing, name))


def entry_of(entry):
    # type: (Any) -> Dict[str, Any]
    """A yield of generate_experiments: a tuple's items, or what the odd thing was."""
    if isinstance(entry, tuple):
        return {"tuple": [plain(item) for item in entry]}
    return {"other": type(entry).__name__, "repr": repr(entry)[:200]}


def plain(value):
    # type: (Any) -> Any
    """What JSON can hold, as pbt-track's record keeps parameter values (launch.record.jsonable)."""
    if isinstance(value, dict):
        return dict((str(key), plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def failure(kind, error):
    # type: (str, BaseException) -> Dict[str, str]
    text = str(error)
    return {"kind": kind, "type": type(error).__name__, "detail": text.splitlines()[0] if text else ""}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
