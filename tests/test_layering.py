"""The code's shape: the engine is pure Python, no import cycle, small modules, and one home for
each rule that the project once had in several places."""

import ast
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "tui")


def modules():
    """Every module of the engine and the TUI: (dotted name, path)."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def imported(name, tree):
    """The project modules a module imports, anywhere in it (functions and TYPE_CHECKING too)."""
    package = name if name.count(".") == 0 else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph():
    known = dict(modules())
    graph = {}
    for name, path in known.items():
        targets = {target for target in imported(name, ast.parse(path.read_text())) if target in known}
        graph[name] = {target for target in targets if target != name and not name.startswith(target + ".")}
    return graph


def find_cycle(graph):
    """A cycle of the graph as a list of modules, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_engine_imports_nothing_from_textual():
    code = (
        "import pkgutil, importlib, sys, engine\n"
        "for module in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    if not module.name.endswith('__main__'):\n"
        "        importlib.import_module(module.name)\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'textual'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_of_the_engine_or_the_tui_imports_itself_back():
    graph = import_graph()
    assert len(graph) > 40 and any(graph.values())
    assert find_cycle(graph) is None


def test_modules_are_small():
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules() if not name.endswith("__main__")}
    assert max(sizes.values()) <= 400, max(sizes.items(), key=lambda item: item[1])
    assert statistics.median(sizes.values()) < 120


def test_no_assert_validates_anything_outside_the_tests():
    asserts = [f"{name}:{node.lineno}" for name, path in modules()
               for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Assert)]
    assert asserts == []


def test_only_the_models_package_knows_the_simulated_models_name():
    """Everything else asks the factory (``is_simulated``) or uses ``SIM_MODEL``."""
    where = [f"{name}:{node.lineno}" for name, path in modules()
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Constant) and node.value == "sim"]
    assert where == ["engine.models.sim:" + str(_line_of('SIM_MODEL = "sim"', ROOT / "engine/models/sim.py"))]


def test_no_sampler_is_probed_with_getattr():
    probes = [f"{name}:{node.lineno}" for name, path in modules()
              for node in ast.walk(ast.parse(path.read_text()))
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
              and "sampler" in ast.unparse(node.args[0])]
    assert probes == []


def _line_of(text, path):
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_only_the_price_table_turns_tokens_into_dollars():
    """Prices are per million tokens: a division by a million is the price formula, and it lives
    in one place (``Pricing.cost``); everything else asks it."""
    divisions = [f"{name}:{node.lineno}" for name, path in modules() if name.startswith("engine")
                 for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
                 and isinstance(node.right, ast.Constant) and node.right.value in (1e6, 1_000_000)]
    assert [where.split(":")[0] for where in divisions] == ["engine.models.pricing"]
