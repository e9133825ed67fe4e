"""No import cycles among ponder's modules, lazy and ``TYPE_CHECKING`` imports included (how the import
graph is read: tests/support/import_graph.py)."""

from __future__ import annotations

from pathlib import Path

from import_graph import cycles, graph
from layout import SRC

PACKAGE = SRC / "ponder"


def test_ponder_has_no_import_cycles():
    found = cycles(PACKAGE)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_checker_finds_lazy_and_type_checking_cycles(tmp_path):
    pkg = write(
        tmp_path / "pkg",
        {
            "__init__.py": "from .a import A\n",
            "a.py": "class A:\n    def b(self):\n        from .sub.b import B\n        return B\n",
            "sub/__init__.py": "",
            "sub/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\nclass B: ...\n",
            "c.py": "import pkg.sub.b\n",
        },
    )
    assert graph(pkg)["pkg.c"] == {"pkg.sub.b"}
    assert cycles(pkg) == [["pkg.a", "pkg.sub.b", "pkg.a"]]


def test_the_checker_sees_a_submodule_needing_its_package(tmp_path):
    pkg = write(
        tmp_path / "pkg",
        {
            "__init__.py": "from .a import A\nfrom .b import B\nHELPER = 1\n",
            "a.py": "from . import b\nclass A: ...\n",  # a sibling module: not the package's names
            "b.py": "class B: ...\n",
            "self.py": "from pkg.self import x\nx = 1\n",
        },
    )
    assert cycles(pkg) == [["pkg.self", "pkg.self"]]
    (pkg / "b.py").write_text("from . import HELPER\nclass B: ...\n", encoding="utf-8")
    assert ["pkg", "pkg.b", "pkg"] in cycles(pkg)
