"""Two rules of the codebase that review alone lets slip, checked from the source.

- No function in the library (envs/, agents/, embodia/) runs over 80 lines unless its docstring says why: a long
  function is usually several steps that want names of their own; where one is not (a table, one sequence a reader
  should see whole), its docstring carries a line starting ``Long because`` with the reason.
- A task file compares against no bare number: every threshold and shaping scale is a named constant with its unit
  and its reason (``envs/tasks/criteria.py`` for the shared ones), so a reader can find and question it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ("envs", "agents", "embodia")
MAX_LINES = 80
REASON = "Long because"
#: numbers that are identities or bounds of a fraction, not thresholds
NEUTRAL = (0.0, 0.5, 1.0)


def long_functions() -> list[str]:
    found = []
    for folder in LIBRARY:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_LINES and REASON not in (ast.get_docstring(node) or ""):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name} ({lines} lines)")
    return found


def _bare_float(node: ast.AST) -> ast.Constant | None:
    """The float literal in ``x < 0.03`` or ``x < y + 0.03`` (the operand itself or its right-hand term)."""
    if isinstance(node, ast.BinOp):
        node = node.right
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, float) and node.value not in NEUTRAL:
        return node
    return None


def bare_thresholds(source: str) -> list[tuple[int, float]]:
    """(line, value) of each float literal a comparison tests against or a ``tolerance`` call scales by."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "tolerance":
            operands = node.args[1:]
        else:
            continue
        found += [(c.lineno, c.value) for c in map(_bare_float, operands) if c is not None]
    return found


def test_library_functions_fit_on_a_screen():
    found = long_functions()
    assert not found, f"functions over {MAX_LINES} lines without '{REASON}' in the docstring:\n" + "\n".join(found)


def test_task_files_name_their_thresholds():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {value}"
        for path in sorted((ROOT / "envs" / "tasks").rglob("*.py"))
        for line, value in bare_thresholds(path.read_text(encoding="utf-8"))
    ]
    assert not found, "bare numeric thresholds in task files (name them, with unit and reason):\n" + "\n".join(found)


def test_the_threshold_check_sees_what_it_should():
    caught = bare_thresholds("a = (x < 0.03) & (w > g + 0.008) & (h > -0.012)\nb = tolerance(d, 0.1)\n")
    assert sorted(value for _, value in caught) == [0.008, 0.012, 0.03, 0.1]
    assert bare_thresholds("a = (x < LIMIT_M) & (f <= 1.0) & (g > 0.0)\nb = tolerance(d, SCALE_M)\n") == []
