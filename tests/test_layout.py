"""The architecture as the folders show it: imports between berxit's packages go one way (no cycle), and outside the
exit-rule package no library code decides by a rule's name."""

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "tests")


def package_imports() -> dict[str, set[str]]:
    """Which berxit packages each package imports (`from ..other...`, anywhere in its files)."""
    edges = defaultdict(set)
    for package in PACKAGES:
        for path in (ROOT / package).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
                    target = node.module.split(".")[0]
                    if target != package:
                        edges[package].add(target)
    return edges


def test_packages_import_one_way():
    edges = package_imports()
    assert edges["configuration_berxit"] <= {"backbones", "exit_rules"}
    assert "workflows" not in set().union(*(edges[p] for p in PACKAGES if p not in ("scripts",)))
    cycles = []

    def visit(start: str, node: str, path: list[str]) -> None:
        for target in edges.get(node, ()):
            if target == start:
                cycles.append(path)
            elif target not in path:
                visit(start, target, [*path, target])

    for package in PACKAGES:
        visit(package, package, [package])
    assert not cycles, f"import cycles between packages: {cycles}"


def test_no_library_code_decides_by_a_rule_name():
    named = re.compile(r"""[!=]= *["'](certainty|entropy|patience)["']|["'](certainty|entropy|patience)["'] *[!=]=""")
    found = []
    for package in PACKAGES:
        if package == "exit_rules":
            continue
        for path in (ROOT / package).glob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if named.search(line):
                    found.append(f"{package}/{path.name}:{number}: {line.strip()}")
    assert not found, found
