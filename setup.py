"""Packaging beyond pyproject.toml: the bundled example course ships inside the wheel.

The repository keeps the examples at ``assignments/`` (DESIGN.md's layout); the wheel carries the
same folders as package data ``grader/_examples/``, so an installed convgrade (not editable) has
``convgrade demo`` and the examples to copy from. ``grader.course.bundled_assignments_dir`` finds
either. pyproject.toml cannot map a folder outside a package into one, hence this file.
"""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
# every folder of the examples is listed as a (data-only) package, so setuptools copies it quietly
EXAMPLES = ["grader._examples"] + sorted(
    "grader._examples." + ".".join(p.relative_to(HERE / "assignments").parts)
    for p in (HERE / "assignments").rglob("*") if p.is_dir() and "__pycache__" not in p.parts)

setup(
    packages=find_packages(include=["grader*", "reference*"]) + EXAMPLES,
    package_dir={"grader._examples": "assignments"},
    package_data={"grader._examples": ["**/*"],
                  "grader.serve": ["templates/*.html", "migrations/*.py", "migrations/*.mako",
                                   "migrations/versions/*.py"]},
    exclude_package_data={"grader._examples": ["**/__pycache__/*", "**/*.pyc"]},
)
