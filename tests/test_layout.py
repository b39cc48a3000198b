"""The architecture as the folders show it: the repository root is the package, every relative import resolves to a
file of the tree, imports between folders go one way (no cycle), the product never imports the lab, and outside the
exit-rule package no library code decides by a rule's name."""

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).parent.parent
SOURCES = sorted(
    path
    for path in ROOT.rglob("*.py")
    if path.relative_to(ROOT).parts[0] not in ("tests", "build", "docs") and not path.name.startswith(".")
)


def folder_of(path: Path) -> str:
    """The sub-package a file belongs to ("" for the root), as a dotted path: `lab.experiments`, `serving`."""
    return ".".join(path.relative_to(ROOT).parent.parts)


def resolved_imports(path: Path) -> list[Path]:
    """The file (or package `__init__.py`) each relative import of `path` names, read from the tree alone."""
    here = path.relative_to(ROOT).parent.parts
    targets = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.ImportFrom) and node.level):
            continue
        base = ROOT.joinpath(*here[: len(here) - node.level + 1]).joinpath(*(node.module or "").split("."))
        candidates = [base.with_suffix(".py"), base / "__init__.py"]
        if node.module is None:  # from . import name: each name a module
            candidates = [base / f"{alias.name}.py" for alias in node.names] + [base / "__init__.py"]
        found = [candidate for candidate in candidates if candidate.is_file()]
        assert found, f"{path.relative_to(ROOT)}:{node.lineno}: no file for the import of {node.module!r}"
        targets.append(found[0])
    return targets


def folder_imports() -> dict[str, set[str]]:
    edges = defaultdict(set)
    for path in SOURCES:
        for target in resolved_imports(path):
            source, imported = folder_of(path), folder_of(target)
            if imported != source and not source.startswith(imported + ".") and imported:
                edges[source].add(imported)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found = []

    def visit(start: str, node: str, path: list[str]) -> None:
        for target in edges.get(node, ()):
            if target == start:
                found.append(path)
            elif target not in path:
                visit(start, target, [*path, target])

    for start in list(edges):
        visit(start, start, [start])
    return found


def test_every_relative_import_resolves_to_a_file_of_the_tree():
    assert (ROOT / "__init__.py").is_file(), "the repository root is the berxit package"
    edges = folder_imports()
    assert sum(len(targets) for targets in edges.values()) > 40, "the folders should import each other on disk"


def test_folders_import_one_way():
    edges = folder_imports()
    assert edges["configuration_berxit"] <= {"backbones", "exit_rules"}
    assert not edges["backbones"] and not edges["exit_rules"]
    assert not cycles(edges), f"import cycles between folders: {cycles(edges)}"


def test_no_file_level_import_cycle():
    edges = defaultdict(set)
    for path in SOURCES:
        for target in resolved_imports(path):
            if target.name != "__init__.py":
                edges[str(path.relative_to(ROOT))].add(str(target.relative_to(ROOT)))
    assert not cycles(edges), f"import cycles between files: {cycles(edges)}"


def test_the_product_never_imports_the_lab():
    edges = folder_imports()
    product = [folder for folder in edges if folder != "lab" and not folder.startswith("lab.")]
    leaks = {
        folder: sorted(edges[folder]) for folder in product if any(t.split(".")[0] == "lab" for t in edges[folder])
    }
    assert not leaks, f"product folders importing the lab: {leaks}"


def test_no_library_code_decides_by_a_rule_name():
    named = re.compile(r"""[!=]= *["'](certainty|entropy|patience)["']|["'](certainty|entropy|patience)["'] *[!=]=""")
    found = []
    for path in SOURCES:
        if folder_of(path) == "exit_rules":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if named.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, found
