"""The package as pip builds it: every folder of evonas/ with Python files is a package that setup.py's
find_packages sees (a folder without __init__.py once left the population manager out of the wheel)."""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages

import evonas

ROOT = Path(evonas.__file__).parent


def test_every_folder_with_python_files_is_a_package_find_packages_finds():
    folders = {p.parent for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(str(f.relative_to(ROOT.parent)) for f in folders if not (f / "__init__.py").is_file())
    assert not missing, f"folders without __init__.py (left out of a non-editable install): {missing}"
    found = set(find_packages(str(ROOT.parent), include=["evonas", "evonas.*"]))
    assert found == {".".join(f.relative_to(ROOT.parent).parts) for f in folders}
