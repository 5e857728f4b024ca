"""Check kinds. Importing this package imports every module in it, and each module registers
its kinds with ``@register``: adding a kind is adding a module."""
import importlib
import pkgutil

from .base import REGISTRY, CheckDefinitionError, CheckKind, CheckSpec, Part, Plan, kind_of, register

for _info in pkgutil.iter_modules(__path__):
    if _info.name not in ("base", "cases"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["REGISTRY", "CheckDefinitionError", "CheckKind", "CheckSpec", "Part", "Plan", "kind_of", "register"]
