"""CLI command groups beyond the core (grade, check, demo, selfcheck in grader/cli.py).

Each module here defines ``register(main)`` that adds its commands to the click group; adding a
command family is adding a module.
"""
import importlib
import pkgutil


def register_all(main) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        importlib.import_module(f"{__name__}.{info.name}").register(main)
