"""What a check is, and the registry of check kinds.

A check is data (one ``[[check]]`` table of an assignment's ``checks.toml``): a name, a kind,
points, a visibility, a target in the student's module and kind-specific parameters. A check
kind turns that data into a *plan* — the probe the sandbox worker must run (steps, returned
names, input arrays) plus a trusted context that stays in the grader — and later judges the
worker's answer into one or more *parts*, each a row of Gradescope's ``tests``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from grader.i18n import t

VISIBILITIES = ("visible", "hidden", "after_due_date")


class CheckDefinitionError(ValueError):
    """A check in an assignment is malformed (an instructor's error, reported at load time)."""


@dataclass
class CheckSpec:
    name: str
    kind: str
    points: float
    visibility: str = "hidden"
    target: str = ""
    params: dict = field(default_factory=dict)
    number: str = ""
    tags: list[str] = field(default_factory=list)
    name_ru: str = ""            # the Russian row name (checks.toml ``name_ru``); ``name`` stays the id

    @property
    def display_name(self) -> str:
        """The row name a person reads, in the current language (``grader.i18n``). ``name`` is
        the check's identity (seeds, caches, ``--only``) and never changes with the language."""
        from grader.i18n import localized

        return localized(self, "name") or self.name

    @property
    def visible(self) -> bool:
        return self.visibility == "visible"

    def get(self, key: str, default=None):
        return self.params.get(key, default)


@dataclass
class Plan:
    """A probe for the worker plus the trusted context needed to judge its answer."""
    steps: list[dict]
    returns: dict[str, str]
    arrays: list[np.ndarray] = field(default_factory=list)
    timeout: float | None = None
    context: dict = field(default_factory=dict)   # never sent to the worker

    def array(self, value: np.ndarray) -> dict:
        """Attach an input array to the probe and return its JSON reference."""
        self.arrays.append(np.ascontiguousarray(value).reshape(np.shape(value)))  # keep 0-d arrays 0-d
        return {"$array": len(self.arrays) - 1}


@dataclass
class Part:
    """One scored row of the results (a check may have several: output, dx, dW, db)."""
    name: str
    max_score: float
    score: float
    output: str
    extra: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score - 1e-12 and not self.extra.get("failed")


class CheckKind:
    """Base class of check kinds; subclasses set ``kind`` and implement ``plan``/``judge``."""
    kind: str = ""

    def validate(self, spec: CheckSpec) -> None:
        """Raise CheckDefinitionError for a malformed spec (called when the assignment loads)."""

    def parts(self, spec: CheckSpec) -> list[tuple[str, float]]:
        """(row name, points) of every row ``judge`` produces: a check that cannot run still gets
        the same rows, all failed, so pass rates stay comparable across submissions."""
        return [(spec.display_name, spec.points)]

    def worker_imports(self, spec: CheckSpec) -> tuple[str, ...]:
        """Modules a pooled worker is worth having imported before a submission for this check
        (the pool's preload, when the assignment allows them): what the check's probes make torch
        import lazily, seconds per fresh worker otherwise. Computed from the spec alone."""
        return ()

    def plan(self, spec: CheckSpec, rng: np.random.Generator) -> Plan:
        raise NotImplementedError

    def judge(self, spec: CheckSpec, plan: Plan, result) -> list[Part]:
        raise NotImplementedError


def require_target(spec: CheckSpec, what: str = "") -> None:
    """CheckDefinitionError unless the spec names a ``target``; ``what`` says what it must be
    (e.g. "the student's class")."""
    if not spec.target:
        raise CheckDefinitionError(f"check {spec.name!r}: needs a target" + (f" ({what})" if what else ""))


REGISTRY: dict[str, CheckKind] = {}


def register(cls: type[CheckKind]) -> type[CheckKind]:
    REGISTRY[cls.kind] = cls()
    return cls


def kind_of(spec: CheckSpec) -> CheckKind:
    try:
        return REGISTRY[spec.kind]
    except KeyError:
        raise CheckDefinitionError(
            f"check {spec.name!r}: unknown kind {spec.kind!r} (known: {', '.join(sorted(REGISTRY))})"
        ) from None


def split_points(total: float, weights: dict[str, float]) -> dict[str, float]:
    """Split ``total`` points over parts proportionally to ``weights`` (exactly, summing back)."""
    s = float(sum(weights.values()))
    names = list(weights)
    out = {n: round(total * weights[n] / s, 6) for n in names}
    out[names[-1]] = round(total - sum(out[n] for n in names[:-1]), 6)
    return out


def literal(value: Any) -> Any:
    """Python value -> protocol value (tuples become ``$tuple``; dicts ``$dict``)."""
    if isinstance(value, tuple):
        return {"$tuple": [literal(v) for v in value]}
    if isinstance(value, list):
        return [literal(v) for v in value]
    if isinstance(value, dict):
        return {"$dict": {k: literal(v) for k, v in value.items()}}
    if isinstance(value, np.generic):
        return value.item()
    return value


def timeout_text(err: dict) -> str:
    """Which deadline ran out, in words: the import's, this check's, or the session's."""
    limit = err.get("limit_s")
    secs = t("grading.seconds", s=f"{limit:g}") if isinstance(limit, (int, float)) and not isinstance(limit, bool) \
        else ""
    deadline = err.get("deadline")
    if deadline == "import":
        return t("grading.timeout_import", limit=secs or t("grading.timeout_import_default"))
    if deadline == "wall":
        return t("grading.timeout_wall", limit=f" ({secs})" if secs else "")
    if deadline == "probe":
        return t("grading.timeout_probe", limit=t("grading.timeout_probe_limit", limit=secs) if secs else "")
    return t("grading.timeout_other")


def hidden_case_text() -> str:
    """The fixed sentence of a hidden row's case, in the current language."""
    return t("grading.hidden_case")


def case_text(spec: CheckSpec, describe) -> str:
    """The sentence naming a row's case: ``Case: <describe()>.`` for a visible check, the fixed
    ``hidden_case_text()`` for every other one (a hidden row never shows its inputs, constructor
    arguments or expected values: a student could tabulate them). ``describe``: a str or a
    callable returning one (called only for visible checks). Both in the current language."""
    if not spec.visible:
        return hidden_case_text()
    text = describe() if callable(describe) else str(describe)
    return t("grading.case", text=text)


def error_message(message, limit: int = 300) -> str:
    """An exception's message as one line of at most about ``limit`` characters (its lines joined). A
    long one keeps its first and its last line: an error re-raised from elsewhere (a DataLoader worker's, say) carries
    the original traceback in its message, and the cause is its last line."""
    text = str(message)
    if len(text) > 64 * limit:        # a worker's message is the student's: only its ends are read
        text = text[:32 * limit] + "\n" + text[-32 * limit:]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(" ".join(lines)) <= limit:
        return " ".join(lines)
    if len(lines) == 1:
        one = lines[0]
        return one if len(one) <= limit else one[:limit // 2].rstrip() + " … " + one[-(limit // 2):].lstrip()
    head, tail = lines[0][:limit // 3], lines[-1]
    if len(tail) > limit - len(head):
        tail = tail[:limit - len(head)].rstrip() + "…"
    return f"{head} … {tail}"


def worker_error_text(result, where: Callable[[int], str] | None = None) -> str:
    """A student-facing sentence for a probe that did not return normally (current language)."""
    status = result.status
    err = result.error or {}
    if status == "error":
        loc = err.get("where") or ""
        if where and isinstance(err.get("line"), int):
            loc = where(err["line"])
        msg = error_message(err.get("message", ""))
        return t("grading.worker_raised", type=err.get("type", "Exception"), message=msg) + (f" ({loc})" if loc else "")
    if status == "timeout":
        return timeout_text(err)
    if status == "crashed":
        return t("grading.worker_crashed", message=err.get("message") or t("grading.worker_crashed_default"))
    if status == "output_flood":
        return t("grading.worker_flood")
    if status == "not_started":
        return t("grading.worker_not_started")
    if status == "protocol_error":
        # the grader's own words about the reply, shown as code (part of it may be the reply's)
        return t("grading.worker_protocol", message=str(err.get("message", ""))[:200].replace("`", "'"))
    return t("grading.worker_other", status=status)
