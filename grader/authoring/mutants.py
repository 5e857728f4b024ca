"""Mutants: known student mistakes, written as edits of the master solution.

``mutants.toml``::

    [[mutant]]
    name = "flipped_kernel"
    description = "Conv2d convolves with the flipped kernel (true convolution, not torch's cross-correlation)"
    targets = ["Conv2d forward", "diagnosis:flipped_kernel"]
    replace = [["Wg = self.weight.reshape(G, -1, C // G, kh, kw)", "Wg = self.weight.reshape(G, -1, C // G, kh, kw)[..., ::-1, ::-1]"]]

``targets``: check-name substrings (case-insensitive), of which the mutant must fail at least
one, and ``diagnosis:<code>`` entries, every one of which it must trigger. Each ``old`` text of
``replace`` must occur exactly once in the master solution at the moment it is applied (edits
apply in order).

``validate`` judges each mutant's target checks for hundreds of sampled student ids (each gets
its own hidden inputs) and requires it caught for every one of them. A mistake that a seeded case
can only catch by chance should get a case that is deterministic in what matters; where that is
impossible, the mutant declares the bound it meets and why::

    min_catch_rate = 0.9
    reason = "a window of 3 random values has a tie with probability ~1e-3"
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

MUTANTS = "mutants.toml"


class MutantError(ValueError):
    """A mutant is malformed or cannot be applied to the master solution."""


@dataclass
class Mutant:
    name: str
    description: str
    targets: list[str]
    replace: list[tuple[str, str]] = field(default_factory=list)
    min_catch_rate: float = 1.0    # share of sampled students it must be caught for
    reason: str = ""               # why a lower bound is acceptable (required below 1.0)

    def apply(self, source: str) -> str:
        """The master solution with this mutant's edits (each ``old`` must occur exactly once)."""
        for i, (old, new) in enumerate(self.replace, 1):
            n = source.count(old)
            if n != 1:
                where = "not found" if n == 0 else f"found {n} times"
                raise MutantError(f"mutant {self.name!r}: replacement #{i}: text {old[:80]!r} {where} in the "
                                  f"master solution (it must occur exactly once)")
            source = source.replace(old, new)
        return source


def load_mutants(path: str | Path) -> list[Mutant]:
    """Mutants of an assignment folder (or a ``mutants.toml`` path); [] when there is no file."""
    path = Path(path)
    if path.is_dir():
        path = path / MUTANTS
    if not path.is_file():
        return []
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MutantError(f"{path}: invalid TOML: {exc}") from None
    out, seen = [], set()
    for i, raw in enumerate(doc.get("mutant", []), 1):
        name = raw.get("name")
        if not name or not isinstance(name, str):
            raise MutantError(f"{path}: mutant #{i} needs a name")
        if name in seen:
            raise MutantError(f"{path}: duplicate mutant name {name!r}")
        seen.add(name)
        desc = raw.get("description", "")
        if not isinstance(desc, str) or not desc.strip() or "\n" in desc.strip():
            raise MutantError(f"{path}: mutant {name!r}: description must be one line (the student's mistake)")
        targets = raw.get("targets")
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
            raise MutantError(f"{path}: mutant {name!r}: targets must be a non-empty list of check-name "
                              f"substrings or \"diagnosis:<code>\"")
        replace = raw.get("replace")
        if (not isinstance(replace, list) or not replace
                or not all(isinstance(r, list) and len(r) == 2 and all(isinstance(s, str) for s in r) for r in replace)):
            raise MutantError(f"{path}: mutant {name!r}: replace must be a list of [\"old\", \"new\"] pairs")
        if any(old == new or not old for old, new in replace):
            raise MutantError(f"{path}: mutant {name!r}: each replacement must change a non-empty text")
        unknown = set(raw) - {"name", "description", "targets", "replace", "min_catch_rate", "reason"}
        if unknown:
            raise MutantError(f"{path}: mutant {name!r}: unknown keys {sorted(unknown)}")
        rate = raw.get("min_catch_rate", 1.0)
        reason = raw.get("reason", "")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise MutantError(f"{path}: mutant {name!r}: min_catch_rate must be a number in (0, 1]")
        if not isinstance(reason, str) or (rate < 1 and not reason.strip()):
            raise MutantError(f"{path}: mutant {name!r}: min_catch_rate below 1 needs a reason = \"...\" "
                              f"(why some students' cases cannot catch it)")
        out.append(Mutant(name, desc.strip(), list(targets), [(o, n) for o, n in replace],
                          float(rate), reason.strip()))
    return out


def hits_target(mutant: Mutant, failed: list[dict]) -> bool:
    """Whether a graded mutant failed where its targets say (``failed``: results.json tests).

    Check-name targets are alternatives (any one failing is enough); ``diagnosis:<code>`` targets
    are all required: a mutant written to trigger a diagnosis proves the feedback names it."""
    fired = {d.get("code") for t in failed for d in t.get("extra_data", {}).get("diagnoses", [])}
    names = [t for t in mutant.targets if not t.startswith("diagnosis:")]
    codes = [t.split(":", 1)[1] for t in mutant.targets if t.startswith("diagnosis:")]
    name_hit = not names or any(n.lower() in t["name"].lower() for n in names for t in failed)
    return name_hit and all(c in fired for c in codes)
