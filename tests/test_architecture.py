"""The house's rules, read from the code's own imports: no circles, calls go down, small modules.

Every import counts, wherever it is written: at module level, inside a
function, or under `TYPE_CHECKING`. A function-level import still ties two
modules together; it only hides the tie from the interpreter at start-up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pbt_tracker"

# The parts of pbt_tracker, lowest first: a module may import its own part and any part below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("",),  # the leaves at the top of the package: errors, settings, files, states, commands, ...
    ("store",),
    ("launch", "pbt", "templates"),
    ("backends",),
    ("tracker",),
    ("report", "launcher", "plot", "examples", "serve"),
    ("keeper",),
    ("cli",),
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
TOP_LEVEL_MODULE_LIMIT = 12
LINE_LIMIT = 300


def module_name(path: Path) -> str:
    parts = ("pbt_tracker", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """pbt-track modules `name` imports anywhere in its text; `from package import module` names the module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    found.add(f"{source}.{alias.name}")
                elif source in modules:
                    found.add(source)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def part_of(module: str) -> str:
    """The folder right under pbt_tracker a module lives in; "" for the top's own modules."""
    parts = module.split(".")
    if len(parts) == 2 and not (PACKAGE / parts[1]).is_dir():
        return ""
    return parts[1] if len(parts) > 1 else ""


def test_no_module_imports_another_that_imports_it_back():
    assert circles(import_graph()) == []


def test_circles_are_found_through_function_level_and_type_checking_imports(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_imports_go_down_from_part_to_part():
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in import_graph().items()
        for target in targets
        if part_of(source) and RANK[part_of(source)] < RANK[part_of(target)]
        or not part_of(source) and part_of(target) and source != "pbt_tracker.__main__"
    )
    assert upward == []


def test_the_store_imports_only_itself_and_the_leaves():
    reaching_up = sorted(
        f"{source} -> {target}"
        for source, targets in import_graph().items()
        if part_of(source) == "store"
        for target in targets
        if part_of(target) not in ("", "store")
    )
    assert reaching_up == []


def test_every_part_has_a_rank():
    unranked = {part_of(module) for module in all_modules()} - set(RANK)
    assert unranked == set()


def test_the_top_of_the_package_holds_few_modules():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= TOP_LEVEL_MODULE_LIMIT, top


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_the_line_limit(path):
    assert len(path.read_text().splitlines()) <= LINE_LIMIT


# Names users type or that mirror IsaacGymEnvs' own launcher: `python -m pbt_tracker.examples.toy_pbt_train`,
# `pbt_tracker.launcher.run_slurm`. They keep their prefix rather than move.
PUBLIC_PREFIXES = {"examples/toy_*", "launcher/run_*"}


def test_no_folder_holds_files_that_share_a_prefix_a_folder_should_name():
    crowded = {}
    for folder in [PACKAGE, *[p for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__"]]:
        prefixes: dict[str, list[str]] = {}
        for path in folder.glob("*.py"):
            prefix, underscore, _ = path.stem.partition("_")
            if underscore and prefix:
                prefixes.setdefault(prefix, []).append(path.stem)
        crowded.update({f"{folder.name}/{prefix}_*": names for prefix, names in prefixes.items() if len(names) >= 3})
    assert {prefix: names for prefix, names in crowded.items() if prefix not in PUBLIC_PREFIXES} == {}
