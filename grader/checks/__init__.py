"""Check kinds. Importing this package registers every kind in ``REGISTRY``."""
from .base import REGISTRY, CheckDefinitionError, CheckKind, CheckSpec, Part, Plan, kind_of, register
from . import layers  # noqa: F401  (registers forward, backward, gradient_consistency, shape, api)

__all__ = ["REGISTRY", "CheckDefinitionError", "CheckKind", "CheckSpec", "Part", "Plan", "kind_of", "register"]
