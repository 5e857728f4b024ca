"""Short, seeded runs of training checks, for validating mutants only (never for grading students).

A training check (a milestone, say) trains for its whole budget: proving every mutant against it
would retrain for minutes. ``mutants.toml`` may give a check a *short run* that validation judges
mutants on instead::

    [validation."MNIST held-out accuracy within the budget"]
    bands = [[0.93, 1.0]]                                   # parameters of the check, replaced
    kwargs = { train = { epochs = 1, augment = false } }    # keywords added to the steps calling train

Any parameter of the check may be given (a table such as ``compare`` is merged key by key);
``kwargs = { <called name> = { keyword = value } }`` adds keyword arguments to every step that
calls that name (the master's and the mutants' own functions: instructor code, so the keywords
are known). Keep the run bounded by its work (epochs), not by the clock: the check's seeds are
fixed, so a run bounded by epochs gives the same numbers on a loaded machine as on a quiet one.

A short run proves a catch only beside its control: the master solution judged on the same
short run under the same student id must pass it (``validate`` runs that control once per check
and id, and reports a short run that fails the master). Grading never reads this table.
"""
from __future__ import annotations

import copy
import tomllib
from pathlib import Path

from ..checks.base import CheckDefinitionError, CheckSpec
from .mutants import MUTANTS

TABLE = "validation"
# the order validation runs a mutant's training checks in, cheapest first (then by budget)
KIND_COST = {"initial_loss": 0, "overfit_small_batch": 1, "loss_falls": 2, "milestone": 3}


def load_short_runs(folder: str | Path) -> dict[str, dict]:
    """``{check name: table}`` from ``mutants.toml``'s ``[validation."<check name>"]`` tables ({}
    when there are none); ValueError naming the problem when the tables are malformed."""
    path = Path(folder) / MUTANTS
    if not path.is_file():
        return {}
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    tables = doc.get(TABLE, {})
    if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
        raise ValueError(f"{path}: [{TABLE}] must hold one table per check: [{TABLE}.\"<check name>\"]")
    for name, table in tables.items():
        kwargs = table.get("kwargs", {})
        if not isinstance(kwargs, dict) or not all(isinstance(v, dict) for v in kwargs.values()):
            raise ValueError(f"{path}: [{TABLE}.{name!r}].kwargs must be {{ <called name> = {{ keyword = value }} }}")
        if "steps" in table:
            raise ValueError(f"{path}: [{TABLE}.{name!r}]: a short run keeps the check's steps; add keywords "
                             "with kwargs = {{ <called name> = {{ ... }} }}")
    return tables


def short_params(params: dict, table: dict, default_steps: list[dict] | None = None) -> dict:
    """A check's parameters (a ``[[check]]`` table of ``checks.toml``, or ``CheckSpec.params``)
    with a short run's applied, as a new dict; ``default_steps``: the kind's steps when the check
    gives none. ValueError naming a ``kwargs`` call no step makes."""
    params = copy.deepcopy(params)
    for key, value in table.items():
        if key == "kwargs":
            continue
        if isinstance(value, dict) and isinstance(params.get(key), dict):
            params[key] = {**params[key], **copy.deepcopy(value)}
        else:
            params[key] = copy.deepcopy(value)
    calls = table.get("kwargs", {})
    if calls:
        steps = copy.deepcopy(params.get("steps") or default_steps or [])
        used = set()
        for step in steps:
            if step.get("call") in calls:
                step["kwargs"] = {**step.get("kwargs", {}), **calls[step["call"]]}
                used.add(step["call"])
        if set(calls) - used:
            raise ValueError(f"short run: no step calls {sorted(set(calls) - used)}")
        params["steps"] = steps
    return params


def shorten(spec: CheckSpec, table: dict) -> CheckSpec:
    """``spec`` with a short run's parameters (a new spec; the name, the identity, is unchanged).
    The result is checked like any check (:class:`CheckDefinitionError` when malformed)."""
    from ..checks import kind_of
    from ..checks.milestone import DEFAULT_TRAIN_STEPS

    default = DEFAULT_TRAIN_STEPS if spec.kind == "milestone" else getattr(kind_of(spec), "DEFAULT_STEPS", [])
    try:
        params = short_params(spec.params, table, default)
    except ValueError as exc:
        raise CheckDefinitionError(f"check {spec.name!r}: {exc}") from None
    short = CheckSpec(spec.name, spec.kind, spec.points, spec.visibility, spec.target, params, spec.number,
                      list(spec.tags), spec.name_ru)
    kind_of(short).validate(short)
    return short


def cost_key(spec: CheckSpec) -> tuple[int, float]:
    """How costly a training check is, to order by: its kind (:data:`KIND_COST`), then its CPU budget."""
    from ..checks.milestone import _budget

    return KIND_COST.get(spec.kind, len(KIND_COST)), _budget(spec, "cpu", 60.0)


def cost_order(specs: list[CheckSpec]) -> list[CheckSpec]:
    """Training checks cheapest first (:func:`cost_key`)."""
    return sorted(specs, key=cost_key)


__all__ = ["load_short_runs", "short_params", "shorten", "cost_key", "cost_order", "TABLE"]
