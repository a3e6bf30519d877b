"""No import cycles between our modules at import time.

Reads every module of our packages with `ast`, keeps the imports that run when the module is
imported (module level, including inside `try`/`if`, but not under `if TYPE_CHECKING:` and not
inside functions), and fails on any strongly connected group of two or more modules. A package
`__init__` that re-exports its own submodules is not a cycle: the submodules it imports are its
children, and an edge from a child to its own package's `__init__` is ignored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "domain", "matching", "nlu", "factcheck_connectors", "admin")


def module_files() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_nodes(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _import_time_nodes(block)
            for handler in node.handlers:
                yield from _import_time_nodes(handler.body)
        elif isinstance(node, ast.With):
            yield from _import_time_nodes(node.body)


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    targets: set[str] = set()
    for node in _import_time_nodes(tree.body):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = _package_of(module, path).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                targets.add(name)
    return targets


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {module: imports_of(module, path, known) for module, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of two or more modules (Tarjan's algorithm)."""
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


def test_the_checker_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_our_modules() -> None:
    graph = import_graph()
    assert len(graph) > 100 and graph["bot.runtime.cli"]  # the graph was really read
    assert cycles(graph) == []


def _sub_package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" and len(parts) > 2 else module


def test_channels_import_neither_delivery_nor_runtime() -> None:
    """The channel contract is the bottom of sending: the dispatcher (delivery) and the
    process (runtime) use channels, never the other way round. (The sub-packages still form
    a cycle through `runtime.services`, `runtime.metrics` and the catalogue; this keeps the
    part that is untangled untangled.)"""
    graph = import_graph()
    upward = {
        f"{module} -> {target}"
        for module, targets in graph.items()
        if _sub_package(module) == "bot.channels"
        for target in targets
        if _sub_package(target) in ("bot.delivery", "bot.runtime")
    }
    assert upward == set()
    assert not {t for t in graph["bot.conversation.core"] if _sub_package(t) == "bot.channels"}
def imported_names(path: Path) -> set[str]:
    """Every module `path` names in an import, wherever the import stands (type checking and
    function bodies included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_panel_and_the_connectors_name_what_they_use_not_the_services_bag() -> None:
    """`admin` and `factcheck_connectors` get their dependencies through small protocols
    (`admin.deps`, `factcheck_connectors.deps`) that the runtime's `Services` satisfies."""
    bag = "bot.runtime.services"
    offenders = sorted(
        module
        for module, path in module_files().items()
        if module.partition(".")[0] in ("admin", "factcheck_connectors")
        and any(name == bag or name.startswith(bag + ".") for name in imported_names(path))
    )
    assert len([m for m in module_files() if m.startswith("admin.")]) > 10  # the tree was read
    assert offenders == []
