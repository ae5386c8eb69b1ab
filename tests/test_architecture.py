"""Architecture rules: no import cycles, imports follow the layer order, no private names across
modules, no module over 400 lines, every subpackage ``__init__`` says what it owns.

The layer order is the ```` ```layers ```` block in docs/design.md, lowest layer first. Every
check is first shown to fail on a small fake package, then run on salesnb itself.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections import deque
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "salesnb"
DESIGN = ROOT / "docs" / "design.md"
LAYERS_BLOCK = re.compile(r"^```layers[ \t]*\n(.*?)^```", re.S | re.M)


def parse_layers(markdown_text):
    """Read the layer order from the fenced ``layers`` block of a Markdown text.

    Parameters
    ----------
    markdown_text : str
        Markdown holding a ```` ```layers ```` block: one layer a line, its name then prefixes.

    Returns
    -------
    list of tuple of (str, list of str)
        ``(layer, module prefixes)``, lowest layer first.
    """
    found = LAYERS_BLOCK.search(markdown_text)
    if found is None:
        raise ValueError("no ```layers block: the layer order must be written in docs/design.md")
    layers = [line.split("#")[0].split() for line in found.group(1).splitlines()]
    layers = [(words[0], words[1:]) for words in layers if words]
    if not layers or any(not prefixes for _, prefixes in layers):
        raise ValueError("the ```layers block needs lines of: layer-name module.prefix ...")
    return layers


def _modules(package_dir, package_name):
    """Map module name (``pkg``, ``pkg.io``, ``pkg.io.schema``) to its file."""
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        found[".".join([package_name, *parts[: -1 if parts[-1] == "__init__" else None]])] = path
    return found


def _from_base(node, module, modules):
    """Absolute name of the module an ``ImportFrom`` node imports from (relative resolved)."""
    if not node.level:
        return node.module
    anchor = module.split(".")
    if modules[module].name != "__init__.py":
        anchor.pop()
    anchor = anchor[: max(0, len(anchor) - node.level + 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def module_graph(package_dir, package_name="salesnb"):
    """Every import between the package's modules, wherever it is written in the file.

    Parameters
    ----------
    package_dir : pathlib.Path
        Directory of the package (holding its ``__init__.py``).
    package_name : str
        Import name of the package.

    Returns
    -------
    dict of str to set of tuple of (str, int, tuple of str)
        Module -> ``(imported module, line, names imported from it)``. ``from p.a import b``
        goes to ``p.a.b`` when that is a module, else to ``p.a`` with ``b`` among the names.
    """
    modules = _modules(package_dir, package_name)
    graph = {}
    for module, path in modules.items():
        graph[module] = edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [(alias.name, ()) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _from_base(node, module, modules)
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                names = tuple(a.name for a in node.names if f"{base}.{a.name}" not in modules)
                targets = [(sub, ()) for sub in subs] + ([(base, names)] if names else [])
            else:
                continue
            for target, names in targets:
                if target == package_name or target.startswith(package_name + "."):
                    edges.add((target, node.lineno, names))
    return graph


def _reach(succ, start):
    """Modules reachable from ``start`` through one or more imports."""
    seen, stack = set(), [start]
    while stack:
        for n in succ[stack.pop()] - seen:
            seen.add(n)
            stack.append(n)
    return seen


def _way_back(succ, start, group):
    """Shortest import chain ``[start, ..., last]`` inside ``group`` whose last imports start."""
    seen, paths = set(), deque([[start]])
    while True:
        path = paths.popleft()
        for b in sorted(succ[path[-1]] & group - {path[-1]}):
            if b == start:
                return path
            if b not in seen:
                seen.add(b)
                paths.append([*path, b])


def find_cycles(graph):
    """Import cycles: modules that reach each other through imports, or import themselves.

    Parameters
    ----------
    graph : dict
        As returned by :func:`module_graph`.

    Returns
    -------
    list of str
        One chain per cycle group, ``a:3 -> b:7 -> a`` (module:line of its import of the next).
    """
    succ = {m: {t for t, _, _ in edges if t in graph} for m, edges in graph.items()}
    line = {}
    for m, edges in graph.items():
        for t, ln, _ in edges:
            line[m, t] = min(ln, line.get((m, t), ln))
    cycles = []
    for m in sorted(m for m in succ if m in succ[m]):
        own = ", ".join(sorted({n for t, _, names in graph[m] if t == m for n in names}))
        cycles.append(f"{m}:{line[m, m]} -> {m} (imports itself{': ' + own if own else ''})")
    reach, done = {m: _reach(succ, m) for m in succ}, set()
    for start in sorted(m for m in succ if m in reach[m]):
        group = {n for n in reach[start] if start in reach[n]}
        if start in done or len(group) == 1:
            continue
        done |= group
        path = _way_back(succ, start, group)
        pairs = zip(path, [*path[1:], start], strict=True)
        rest = ", ".join(sorted(group - set(path)))
        cycles.append(" -> ".join(f"{a}:{line[a, b]}" for a, b in pairs) + f" -> {start}"
                      + (f" (same cycle group: {rest})" if rest else ""))
    return cycles


def layer_of(module, layers):
    """``(index, layer name)`` of the longest prefix matching ``module``, or None.

    A prefix matches the module itself or its submodules; a top-level name (no dot, e.g.
    ``salesnb``) matches only itself.
    """
    hits = [(len(p), i, layer) for i, (layer, prefixes) in enumerate(layers) for p in prefixes
            if module == p or ("." in p and module.startswith(p + "."))]
    return max(hits)[1:] if hits else None


def unlayered(graph, layers):
    """Messages for the modules of ``graph`` that belong to no layer."""
    return [f"module {m} is in no layer; add it to docs/design.md"
            for m in sorted(graph) if layer_of(m, layers) is None]


def layer_violations(graph, layers):
    """Messages for imports that go from a lower layer to a higher one."""
    found = []
    for module, edges in sorted(graph.items()):
        for target, ln, _ in sorted(edges, key=lambda e: (e[1], e[0])):
            src, dst = layer_of(module, layers), layer_of(target, layers)
            if src and dst and dst[0] > src[0]:
                found.append(f"{module} (layer {src[1]}, line {ln}) imports {target} "
                             f"(layer {dst[1]}, higher)")
    return found


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(package_dir, package_name="salesnb"):
    """Uses of another module's private names (``_x``; dunders such as ``__version__`` are fine).

    Finds ``from p.x import _name`` outside ``p.x``, imports of a private module ``p.x._m``
    from outside ``p.x``, and ``alias._name`` where ``alias`` is bound to a module of ``p``.

    Returns
    -------
    list of str
        One message per use, with the line.
    """
    modules = _modules(package_dir, package_name)
    found = []
    for module, edges in module_graph(package_dir, package_name).items():
        for target, ln, names in edges:
            found += [(module, ln, f"imports private name {n} from {target}")
                      for n in names if _private(n) and target != module]
            parent, _, leaf = target.rpartition(".")
            if _private(leaf) and module != parent and not module.startswith(parent + "."):
                found.append((module, ln, f"imports private module {target}"))
        tree = ast.parse(modules[module].read_text(encoding="utf-8"))
        bound = {}  # local name -> the package module it refers to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:  # import p.a.b binds p; import p.a.b as x binds x
                    top = a.name.split(".")[0]
                    bound[a.asname or top] = a.name if a.asname else top
            elif isinstance(node, ast.ImportFrom):
                base = _from_base(node, module, modules)
                bound.update({a.asname or a.name: f"{base}.{a.name}" for a in node.names
                              if f"{base}.{a.name}" in modules})
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                head, *rest = ast.unparse(node.value).split(".")
                target = ".".join([bound.get(head, "?"), *rest])
                if target in modules and target != module:
                    what = f"uses private name {node.attr} of {target}"
                    found.append((module, node.lineno, what))
    return [f"{m} (line {ln}) {what}" for m, ln, what in sorted(found)]


def long_modules(package_dir, limit=400):
    """Messages for the package's files longer than ``limit`` lines."""
    files = sorted(package_dir.rglob("*.py"))
    counts = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in files}
    return [f"{p.relative_to(package_dir.parent)}: {n} lines (limit {limit})"
            for p, n in counts.items() if n > limit]


def missing_docstrings(package_dir):
    """Messages for subpackages whose ``__init__.py`` is missing or has no module docstring."""
    found = []
    for sub in sorted({p.parent for p in package_dir.rglob("*.py")} - {package_dir}):
        init = sub / "__init__.py"
        rel = init.relative_to(package_dir.parent)
        if not init.exists():
            found.append(f"{rel} is missing")
        elif not (ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or "").strip():
            found.append(f"{rel} has no module docstring (say what it owns and may import)")
    return found


# --- each check can fail: small fake packages ------------------------------------------------

FAKE_DESIGN = """Some prose.

```layers
base    fakepkg.base
io      fakepkg.io
top     fakepkg.top
api     fakepkg
```
"""
FAKE_LAYERS = parse_layers(FAKE_DESIGN)
CLEAN = {
    "__init__.py": '"""Fake package."""\nfrom fakepkg import top\n',
    "base.py": "__version__ = '1'\n_secret = 2\n",
    "io/__init__.py": '"""Owns reading; may import base."""\n',
    "io/reader.py": "from .. import base\nfrom fakepkg.base import __version__\n"
                    "from . import _impl\n",
    "io/_impl.py": "def _read():\n    return 1\n",
    "top.py": "import fakepkg.io.reader as reader\nfrom fakepkg.io import reader as r2\n",
}


def fake_package(tmp_path, changes=None):
    """Write the clean fake package, with ``changes`` ({path in package: source}) applied."""
    for rel, text in (CLEAN | (changes or {})).items():
        (tmp_path / "fakepkg" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fakepkg" / rel).write_text(textwrap.dedent(text))
    return tmp_path / "fakepkg"


def run_checks(pkg):
    graph = module_graph(pkg, "fakepkg")
    return {"cycles": find_cycles(graph), "layers": layer_violations(graph, FAKE_LAYERS),
            "unlayered": unlayered(graph, FAKE_LAYERS), "private": private_imports(pkg, "fakepkg"),
            "long": long_modules(pkg), "docstrings": missing_docstrings(pkg)}


def test_parse_layers_and_longest_prefix():
    assert FAKE_LAYERS[:2] == [("base", ["fakepkg.base"]), ("io", ["fakepkg.io"])]
    with pytest.raises(ValueError, match="no ```layers block"):
        parse_layers("# Design\n\n```python\nx = 1\n```\n")
    assert layer_of("fakepkg.io.reader", FAKE_LAYERS) == (1, "io")
    assert layer_of("fakepkg", FAKE_LAYERS) == (3, "api")
    assert layer_of("fakepkg.iox", FAKE_LAYERS) is None  # neither fakepkg.io nor bare fakepkg


def test_clean_fake_package_passes_and_edges_resolve(tmp_path):
    pkg = fake_package(tmp_path)
    assert run_checks(pkg) == dict.fromkeys(run_checks(pkg), [])
    graph = module_graph(pkg, "fakepkg")
    assert graph["fakepkg"] == {("fakepkg.top", 2, ())}
    assert graph["fakepkg.io.reader"] == {("fakepkg.base", 1, ()), ("fakepkg.io._impl", 3, ()),
                                          ("fakepkg.base", 2, ("__version__",))}
    assert graph["fakepkg.top"] == {("fakepkg.io.reader", 1, ()), ("fakepkg.io.reader", 2, ())}


@pytest.mark.parametrize(("changes", "check", "expected"), [
    ({"base.py": "def f():\n    from fakepkg.io import reader\n"}, "cycles",
     ["fakepkg.base:2 -> fakepkg.io.reader:1 -> fakepkg.base"]),
    ({"io/reader.py": """\
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from fakepkg.top import r2
        """}, "cycles", ["fakepkg.io.reader:3 -> fakepkg.top:1 -> fakepkg.io.reader"]),
    ({"io/writer.py": "import os\n\nimport fakepkg.top\n"}, "layers",
     ["fakepkg.io.writer (layer io, line 3) imports fakepkg.top (layer top, higher)"]),
    ({"extra.py": "X = 1\n"}, "unlayered",
     ["module fakepkg.extra is in no layer; add it to docs/design.md"]),
    ({"top.py": "from fakepkg.base import __version__, _secret\nfrom fakepkg.io import _impl\n"},
     "private", ["fakepkg.top (line 1) imports private name _secret from fakepkg.base",
                 "fakepkg.top (line 2) imports private module fakepkg.io._impl"]),
    ({"top.py": """\
        from fakepkg import base
        import fakepkg.io.reader
        import fakepkg.io._impl as impl
        X = (base.__version__, base._secret, fakepkg.io.reader._x, impl.__name__)
        """}, "private", ["fakepkg.top (line 3) imports private module fakepkg.io._impl",
                          "fakepkg.top (line 4) uses private name _secret of fakepkg.base",
                          "fakepkg.top (line 4) uses private name _x of fakepkg.io.reader"]),
    ({"base.py": "x = 1\n" * 401, "io/_impl.py": "x = 1\n" * 400}, "long",
     ["fakepkg/base.py: 401 lines (limit 400)"]),
    ({"__init__.py": '"""Fake."""\nfrom fakepkg import top, missing\n'}, "cycles",
     ["fakepkg:2 -> fakepkg (imports itself: missing)"]),
    ({"io/__init__.py": "import os\n", "sub/mod.py": "X = 1\n"}, "docstrings",
     ["fakepkg/io/__init__.py has no module docstring (say what it owns and may import)",
      "fakepkg/sub/__init__.py is missing"]),
], ids=["local-cycle", "type-checking-cycle", "upward", "no-layer", "private-name",
        "private-attribute", "long", "self-import", "docstring"])
def test_each_check_reports_the_planted_problem(tmp_path, changes, check, expected):
    assert run_checks(fake_package(tmp_path, changes))[check] == expected


# --- the real package ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph():
    return module_graph(PACKAGE_DIR)


@pytest.fixture(scope="module")
def layers():
    if not DESIGN.exists():
        pytest.fail("docs/design.md is missing; it holds the ```layers block", pytrace=False)
    return parse_layers(DESIGN.read_text(encoding="utf-8"))


def no_problems(title, problems):
    if problems:
        pytest.fail(f"{title} ({len(problems)}):\n" + "\n".join(problems), pytrace=False)


def test_no_import_cycles(graph):
    no_problems("import cycles (module:line of the import -> next module)", find_cycles(graph))


def test_every_module_is_in_a_layer(graph, layers):
    no_problems("modules in no layer", unlayered(graph, layers))


def test_imports_follow_the_layer_order(graph, layers):
    no_problems("imports against the layer order in docs/design.md",
                layer_violations(graph, layers))


def test_no_private_imports():
    no_problems("private names used outside their module", private_imports(PACKAGE_DIR))


def test_no_module_over_400_lines():
    no_problems("modules over 400 lines: split them", long_modules(PACKAGE_DIR))


def test_subpackages_document_what_they_own():
    no_problems("subpackage __init__.py without a docstring", missing_docstrings(PACKAGE_DIR))
