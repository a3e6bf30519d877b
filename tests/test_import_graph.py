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


def imports_of(
    module: str,
    path: Path,
    known: set[str],
    nodes: Iterator[ast.Import | ast.ImportFrom] | None = None,
) -> set[str]:
    if nodes is None:
        nodes = _import_time_nodes(ast.parse(path.read_text(encoding="utf-8")).body)
    targets: set[str] = set()
    for node in nodes:
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


# `bot/`'s sub-packages, bottom first. A sub-package may import those below it, never one above
# it (docs/architecture.md draws this). Imports under `if TYPE_CHECKING:` are not counted: they
# name a type for the checker and never run.
BOT_LAYERS = (
    "bot.texts",  # what residents read: catalogue, replies, buttons, language, the Turn
    "bot.sharing",  # share cards and forward-ready text
    "bot.amplifiers",  # amplifiers: join links, reports, channel posts
    "bot.media",  # reading files: the stage, the media worker
    "bot.channels",  # platform adapters and the channel contract
    "bot.conversation",  # the turn engine, claims, publishing, the indexes, the services bag
    "bot.delivery",  # the outbox dispatcher, pacing, broadcasts, the WhatsApp window
    "bot.runtime",  # roles, the web app, wiring, the CLI, logs, /metrics
)


def _run_time_nodes(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that can run: module level and inside functions and classes, but not
    under `if TYPE_CHECKING:`."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _run_time_nodes(node.orelse)
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    stmts = [c for c in children if isinstance(c, ast.stmt)]
                    stmts += [s for h in children if isinstance(h, ast.ExceptHandler)
                              for s in h.body]
                    yield from _run_time_nodes(stmts)


def run_time_imports(module: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return imports_of(module, path, known, nodes=_run_time_nodes(tree.body))


def layer_violations(graph: dict[str, set[str]], layers: tuple[str, ...]) -> set[str]:
    """Imports from a sub-package to one above it in `layers`, and modules of `bot/` in no
    layer (a new sub-package must be given its place)."""
    rank = {package: position for position, package in enumerate(layers)}
    found = set()
    for module, targets in graph.items():
        source = _sub_package(module)
        if source.startswith("bot.") and source not in rank:
            found.add(f"{source}: not in the layer order")
            continue
        for target in targets:
            above = _sub_package(target)
            if source in rank and above in rank and rank[above] > rank[source]:
                found.add(f"{module} -> {target} ({source} is below {above})")
    return found


def test_the_layer_check_finds_an_upward_import() -> None:
    layers = ("bot.low", "bot.high")
    assert layer_violations({"bot.high.a": {"bot.low.b"}, "bot.low.b": set()}, layers) == set()
    assert layer_violations({"bot.low.b": {"bot.high.a"}}, layers) == {
        "bot.low.b -> bot.high.a (bot.low is below bot.high)"
    }
    assert layer_violations({"bot.new.c": set()}, layers) == {"bot.new: not in the layer order"}


def test_bot_sub_packages_import_only_the_layers_below() -> None:
    files = module_files()
    known = set(files)
    graph = {
        module: run_time_imports(module, path, known)
        for module, path in files.items()
        if module.startswith("bot.") and module.count(".") >= 2
    }
    assert "bot.runtime.wiring" in graph and graph["bot.runtime.wiring"]  # really read
    assert {_sub_package(m) for m in graph} == set(BOT_LAYERS)
    assert layer_violations(graph, BOT_LAYERS) == set()


def test_the_conversation_core_knows_no_platform() -> None:
    """Core code never sees platform JSON: the turn engine does not import the adapters."""
    graph = import_graph()
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
    bag = "bot.conversation.services"
    offenders = sorted(
        module
        for module, path in module_files().items()
        if module.partition(".")[0] in ("admin", "factcheck_connectors")
        and any(name == bag or name.startswith(bag + ".") for name in imported_names(path))
    )
    assert len([m for m in module_files() if m.startswith("admin.")]) > 10  # the tree was read
    assert offenders == []
