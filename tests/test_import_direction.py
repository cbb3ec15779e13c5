"""The layers import downwards only: envs (simulation) <- agents (experts, learning) <- embodia's top layer (cli,
commands, review, Gymnasium registration).

Every ``.py`` file under envs/, agents/ and embodia/ is parsed: top-level and function-level ``import`` and
``from ... import`` statements, and the string literals of ``importlib.import_module("...")`` and
``__import__("...")``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: source folder -> the package it installs as (pyproject.toml's package-dir)
PACKAGES = {"envs": "embodia.envs", "agents": "embodia.agents", "embodia": "embodia"}
TOP_LAYER = ("embodia.cli", "embodia.commands", "embodia.review", "embodia.registration")
#: what each layer must not import
FORBIDDEN = {"embodia.envs": ("embodia.agents", *TOP_LAYER), "embodia.agents": TOP_LAYER}


def module_name(folder: str, path: Path) -> str:
    parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGES[folder], *parts])


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, module) of every import in ``source``; ``from a import b`` gives ``a`` and ``a.b`` (b may be a
    submodule); relative imports are resolved against ``module``."""
    found: list[tuple[int, str]] = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0]
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if name in ("import_module", "__import__") and literal:
                found.append((node.lineno, first.value))
    return found


def upward_imports(read: dict[str, str] | None = None) -> list[str]:
    """Every import against the layering, as ``file:line: module``. ``read`` maps a file (relative to the
    repository) to its source, to check other sources than the files on disk."""
    sources = read or {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for folder in PACKAGES
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    problems = []
    for relative, source in sorted(sources.items()):
        path = ROOT / relative
        folder = Path(relative).parts[0]
        module = module_name(folder, path)
        layer = next((layer for layer in FORBIDDEN if module == layer or module.startswith(layer + ".")), None)
        if layer is None:
            continue
        lines_seen = set()  # one report per import statement
        for line, target in imported_modules(source, module, path.name == "__init__.py"):
            if line not in lines_seen and any(
                target == bad or target.startswith(bad + ".") for bad in FORBIDDEN[layer]
            ):
                lines_seen.add(line)
                problems.append(f"{relative}:{line}: {target}")
    return problems


def test_every_layer_is_parsed():
    files = [path for folder in PACKAGES for path in (ROOT / folder).rglob("*.py")]
    assert len(files) > 50
    assert any(path.name == "registry.py" for path in files)


def test_the_checker_sees_every_kind_of_import():
    source = (
        "import embodia.commands.common\n"
        "from embodia import registration\n"
        "def f():\n"
        "    from embodia.agents.experts import EXPERTS\n"
        "    importlib.import_module('embodia.review.site')\n"
        "from ..record import replay\n"
    )
    found = [target for _, target in imported_modules(source, "embodia.envs.core.x", False)]
    assert "embodia.commands.common" in found and "embodia.registration" in found
    assert "embodia.agents.experts" in found and "embodia.review.site" in found
    assert "embodia.envs.record.replay" in found
    assert upward_imports({"envs/core/x.py": source}) == [
        "envs/core/x.py:1: embodia.commands.common",
        "envs/core/x.py:2: embodia.registration",
        "envs/core/x.py:4: embodia.agents.experts",
        "envs/core/x.py:5: embodia.review.site",
    ]
    assert upward_imports({"agents/x.py": source}) == [
        "agents/x.py:1: embodia.commands.common",
        "agents/x.py:2: embodia.registration",
        "agents/x.py:5: embodia.review.site",
    ]


def test_envs_and_agents_import_downwards_only():
    problems = upward_imports()
    assert not problems, "upward imports:\n" + "\n".join(problems)


def envs_package_graph() -> dict[str, set[str]]:
    """The parts of ``embodia.envs`` (subpackages such as ``core``, ``scene``, ``human``, and top-level modules
    such as ``validation``) and, for each, the other parts it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "envs").rglob("*.py")):
        module = module_name("envs", path)
        part = module.split(".")[2] if module.count(".") >= 2 else None
        if part is None:
            continue
        edges = graph.setdefault(part, set())
        for _, target in imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
            pieces = target.split(".")
            if pieces[:2] == ["embodia", "envs"] and len(pieces) > 2 and pieces[2] != part:
                edges.add(pieces[2])
    return graph


def test_the_parts_of_envs_import_each_other_without_cycles():
    """A cycle between two parts (scene importing human importing scene) means neither can be read alone."""
    graph = envs_package_graph()
    assert {"core", "scene", "human", "tasks", "validation"} <= set(graph)
    cycles = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for following in sorted(graph.get(node, ())):
                if following == start:
                    cycles.append(" -> ".join([*path, start]))
                elif following not in path and following in graph:
                    stack.append((following, [*path, following]))
    assert not cycles, "cycles between the parts of embodia.envs:\n" + "\n".join(sorted(set(cycles)))
