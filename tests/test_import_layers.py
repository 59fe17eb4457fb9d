"""The package's imports go one way: models <- rules <- services <- state <- adapters <- wiring.

Every ``import`` and ``from ... import`` of every module counts, wherever it is written: at the
top, inside a function (where an import hides an upward edge from a plain read of the header)
and under ``if TYPE_CHECKING:``. A type imported only for checking counts too: a model module
that names a service's type in its annotations knows about the service all the same.

An import names the module it reads: ``from ..services import ledger`` is an edge to
``services.ledger``, ``from ..models import CouponStatus`` one to ``models`` (the package
``__init__``). Python also runs the ``__init__`` of every package on the way
(``cashback.models`` runs ``cashback/__init__``); that implicit step is not an edge: a package
``__init__`` is judged by what it imports itself.

Every module has a layer (a new module must be given one below) and may import its own layer
and the layers below it, with no cycle between modules even inside one layer.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import flask_loyalty_rewards

PACKAGE = flask_loyalty_rewards.__name__
ROOT = Path(flask_loyalty_rewards.__file__).parent

#: The layers, lowest first: each pattern is a module path inside the package (fnmatch; "" is
#: the package's own ``__init__``). A module takes the layer of its most specific pattern: an
#: exact name beats a wildcard, a longer wildcard a shorter one.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "models",
        (
            "models",
            "models.*",
            "cashback.models",
            # Low modules the models and everything above use; they import only each other.
            "bounds",
            "clock",
            "config",
            "errors",
            # The translation helpers (gettext, Flask-Babel) the errors and enums' labels use.
            "i18n",
            "profile",
            "signals",
            "sqlite",
            # Every backend's SQL; it imports only SQLAlchemy and sqlite.py, and the models'
            # own bookkeeping (the count of a limited campaign's slots) needs it.
            "services.dialect",
        ),
    ),
    ("rules", ("rules", "rules.*")),
    (
        "services",
        (
            "services",
            "services.*",
            # The cashback work: providers and their registry, PayTM, the payout worker,
            # provider callbacks, admins' actions.
            "cashback.*",
            # Host callbacks run when the host's own rows commit (a unit of work of ours).
            "changes",
        ),
    ),
    # The per-app state: how an adapter finds the models, the session and the services' Context.
    ("state", ("state",)),
    (
        "adapters",
        (
            "admin",
            "admin.*",
            "client",
            "client.*",
            "cli",
            "tasks",
            "forms",
            "redirects",
            # cashback/__init__ mounts the provider callback endpoint and the payouts view.
            "cashback",
            "cashback.admin",
        ),
    ),
    ("wiring", ("extension", "")),
)


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([package, *parts])] = path
    return found


def imported_modules(source: str, module: str, is_package: bool, known: Iterable[str]) -> set[str]:
    """The modules of ``known`` that ``module`` imports anywhere in ``source``."""
    known = set(known)
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # ``from pkg import name``: the submodule pkg.name when there is one, else pkg.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        found.update(name for name in names if name in known and name != module)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    modules = module_names(root, package)
    return {
        name: imported_modules(
            path.read_text(encoding="utf-8"), name, path.name == "__init__.py", modules
        )
        for name, path in modules.items()
    }


def layer_of(
    module: str, package: str, layers: tuple[tuple[str, tuple[str, ...]], ...]
) -> str | None:
    """The layer of the most specific pattern matching ``module`` (None when none does)."""
    inner = module.removeprefix(package).removeprefix(".")
    best: tuple[tuple[int, int], str] | None = None
    for layer, patterns in layers:
        for pattern in patterns:
            if not fnmatch.fnmatchcase(inner, pattern):
                continue
            rank = (int("*" not in pattern), len(pattern))
            if best is None or rank > best[0]:
                best = (rank, layer)
    return None if best is None else best[1]


def upward_edges(
    graph: Mapping[str, set[str]], layer: Mapping[str, str], order: list[str]
) -> list[str]:
    """Every import of a module from a higher layer, as ``a (low) -> b (high)``."""
    rank = {name: index for index, name in enumerate(order)}
    return [
        f"{source} ({layer[source]}) -> {target} ({layer[target]})"
        for source in sorted(graph)
        for target in sorted(graph[source])
        if rank[layer[target]] > rank[layer[source]]
    ]


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
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
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, group) for group in groups]


def _cycle_in(graph: Mapping[str, set[str]], group: set[str]) -> list[str]:
    """A shortest cycle through the group's first module (breadth-first inside the group)."""
    start = min(group)
    came_from: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & group):
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if target not in came_from:
                came_from[target] = node
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - a group has one


ORDER = [name for name, _ in LAYERS]
GRAPH = import_graph(ROOT, PACKAGE)


def test_every_module_has_a_layer() -> None:
    assert [m for m in sorted(GRAPH) if layer_of(m, PACKAGE, LAYERS) is None] == []


def test_no_module_imports_a_higher_layer() -> None:
    layer = {module: layer_of(module, PACKAGE, LAYERS) or "?" for module in GRAPH}
    assert upward_edges(GRAPH, layer, [*ORDER, "?"]) == []


def test_no_modules_import_each_other() -> None:
    assert [" -> ".join(cycle) for cycle in cycles(GRAPH)] == []


# -- the checker itself, on a made-up package ---------------------------------------------------


@pytest.fixture
def made_up_package(tmp_path: Path) -> Path:
    """A package whose model imports a service inside a function, and two services in a loop."""
    files = {
        "__init__.py": "from .services import orders\n",
        "models/__init__.py": "def total():\n    from ..services.orders import price\n",
        "models/enums.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from ..services import bills\n",
        "services/__init__.py": "",
        "services/orders.py": "from ..models import enums\nfrom . import bills\n",
        "services/bills.py": "import shop.services.orders\nfrom shop.models import Thing\n",
    }
    for name, text in files.items():
        path = tmp_path / "shop" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path / "shop"


SHOP_LAYERS = (
    ("models", ("models", "models.*")),
    ("services", ("services", "services.*")),
    ("top", ("",)),
)


def test_checker_resolves_relative_absolute_and_function_level_imports(
    made_up_package: Path,
) -> None:
    assert import_graph(made_up_package, "shop") == {
        "shop": {"shop.services.orders"},
        "shop.models": {"shop.services.orders"},
        "shop.models.enums": {"shop.services.bills"},
        "shop.services": set(),
        "shop.services.orders": {"shop.models.enums", "shop.services.bills"},
        "shop.services.bills": {"shop.services.orders", "shop.models"},
    }


def test_checker_reports_an_import_from_a_higher_layer(made_up_package: Path) -> None:
    graph = import_graph(made_up_package, "shop")
    layer = {module: layer_of(module, "shop", SHOP_LAYERS) or "?" for module in graph}
    assert upward_edges(graph, layer, ["models", "services", "top"]) == [
        "shop.models (models) -> shop.services.orders (services)",
        "shop.models.enums (models) -> shop.services.bills (services)",
    ]


def test_checker_reports_a_cycle_with_its_path(made_up_package: Path) -> None:
    assert cycles(import_graph(made_up_package, "shop")) == [
        ["shop.models", "shop.services.orders", "shop.services.bills", "shop.models"]
    ]


def test_checker_gives_a_module_the_layer_of_its_most_specific_pattern() -> None:
    layers = (("low", ("cashback.models", "bounds")), ("mid", ("cashback.*",)), ("top", ("",)))
    assert [
        layer_of(m, "p", layers) for m in ("p.cashback.models", "p.cashback.pay", "p", "p.x")
    ] == [
        "low",
        "mid",
        "top",
        None,
    ]
