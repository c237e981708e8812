"""Packaging for evonas: multi-objective evolutionary neural architecture search."""

from __future__ import annotations

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "evonas" / "__init__.py").read_text()).group(1)

setup(
    name="evonas",
    version=VERSION,
    description="Multi-objective evolutionary neural architecture search (NSGA-II, supernets, benchmark tables)",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["evonas", "evonas.*"]),
    install_requires=[
        "numpy>=1.24",
        "torch>=2.1,<2.14",
        "deap>=1.4",
        "pymoo>=0.6.1",
        "joblib>=1.3",
        "cloudpickle>=2.0",
        "matplotlib>=3.7",
        "click>=8.1",
        "tqdm>=4.66",
        "scikit-learn>=1.3",
    ],
    extras_require={
        # setuptools builds tests/plugin_pkg offline (pip --no-build-isolation) for the plug-in tests
        "dev": ["pytest>=7", "hypothesis>=6.80", "ruff>=0.4", "optuna>=3.4", "scipy>=1.10", "onnx>=1.15", "setuptools>=70.1", "pandas>=1.5"],
        "examples": ["pandas>=1.5"],
        "dask": ["dask[distributed]>=2023.1"],
        "ray": ["ray>=2.9"],
        "onnx": ["onnx>=1.15"],
    },
    entry_points={"console_scripts": ["evonas = evonas.cli:main"]},
)
