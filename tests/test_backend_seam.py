"""A backend's name is spelled in its own module under pbt_tracker/backends/, and nowhere else in the package.

Code elsewhere asks the registry for the backend a launch recorded and uses
its facts and hooks, or imports the backend module's NAME to select its
rows; a literal name elsewhere is a comparison the seam should have made.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pbt_tracker import backends

PACKAGE = Path(backends.__file__).parent.parent
NAMES = frozenset(backend.name for backend in backends.all_backends())

# Calls whose string argument names something other than a backend, each with why.
ALLOWED_CALLS = {
    "shutil.which": "looks up a program on PATH: `ngc` is NGC's command-line program",
}


def spelled_names(root: Path) -> list[str]:
    """Each string constant equal to a backend name in root's modules outside backends/, as path:line: 'name'."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "backends":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        allowed = {
            id(argument)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ALLOWED_CALLS
            for argument in node.args
        }
        found += [
            f"{relative}:{node.lineno}: {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in NAMES and id(node) not in allowed
        ]
    return found


def test_no_module_outside_backends_spells_a_backend_name() -> None:
    assert spelled_names(PACKAGE) == []


def test_a_planted_comparison_with_a_backend_name_is_found(tmp_path: Path) -> None:
    (tmp_path / "backends").mkdir()
    (tmp_path / "backends" / "slurm_backend.py").write_text('NAME = "slurm"\n')
    (tmp_path / "logs.py").write_text(
        'import shutil\n'
        'def local(launch):\n'
        '    return launch["backend"] != "slurm" and shutil.which("ngc") is None\n'
    )
    assert spelled_names(tmp_path) == ["logs.py:3: 'slurm'"]
