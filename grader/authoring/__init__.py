"""Instructor tooling: the master notebook, mutants, validation, release and scaffolding.

    convgrade new ID                 scaffold.scaffold
    convgrade validate ASSIGNMENT    validate.validate
    convgrade release ASSIGNMENT -o  release.release (audited by release.audit)
"""
from .mutants import Mutant, MutantError, load_mutants
from .notebook import MasterError, master_source, parse, starter_source

__all__ = ["Mutant", "MutantError", "load_mutants", "MasterError", "master_source", "parse", "starter_source"]
