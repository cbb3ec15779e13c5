"""The layers import downwards only: envs (simulation) <- agents (experts, learning) <- embodia's top layer (cli,
commands, review, Gymnasium registration).

Every ``.py`` file under envs/, agents/ and embodia/ is parsed: top-level and function-level ``import`` and
``from ... import`` statements, and the string literals of ``importlib.import_module("...")`` and
``__import__("...")``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import import_graph  # noqa: E402  (tools/import_graph.py: the parser, shared with the README's picture)
from import_graph import PACKAGES, imported_modules, module_name  # noqa: E402

TOP_LAYER = ("embodia.cli", "embodia.commands", "embodia.review", "embodia.registration")
#: what each layer must not import
FORBIDDEN = {"embodia.envs": ("embodia.agents", *TOP_LAYER), "embodia.agents": TOP_LAYER}


def upward_imports(read: dict[str, str] | None = None) -> list[str]:
    """Every import against the layering, as ``file:line: module``. ``read`` maps a file (relative to the
    repository) to its source, to check other sources than the files on disk."""
    sources = read or import_graph.source_files()
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


def test_the_parts_import_each_other_without_cycles():
    """A cycle between two parts (scene importing human importing scene, the policy protocol importing the
    training code) means neither can be read, tested or replaced alone. Parts: the subpackages and top-level
    modules of embodia.envs and embodia.agents, and those of the top layer."""
    graph = import_graph.part_graph()
    expected = {"embodia.envs.core", "embodia.envs.scene", "embodia.envs.human", "embodia.envs.tasks"}
    assert expected | {"embodia.envs.validation", "embodia.agents.learn", "embodia.cli"} <= set(graph)
    found = import_graph.cycles(graph)
    assert not found, "cycles between parts:\n" + "\n".join(found)


def test_the_cycle_finder_and_the_reduction():
    graph = {"a": {"b", "c"}, "b": {"c"}, "c": set()}
    assert import_graph.cycles(graph) == []
    assert import_graph.transitive_reduction(graph) == {"a": {"b"}, "b": {"c"}, "c": set()}
    assert import_graph.cycles({"a": {"b"}, "b": {"a"}}) == ["a -> b -> a", "b -> a -> b"]


def test_the_readme_shows_the_current_import_graph():
    """The README's picture is generated from the code (tools/import_graph.py --write) and must be current."""
    assert import_graph.main(["--check"]) == 0, "run: python tools/import_graph.py --write"
