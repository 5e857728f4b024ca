"""Check kind ``quiz``: a homework question from the exam question bank.

::

    [[check]]
    name = "Quiz: parameters of a layer"
    kind = "quiz"
    question = "layer_params"     # a generator of grader.exam.questions.BANK
    seed = 7                      # fixed: the notebook prints this very variant (render_quiz)
    target = "QUIZ.q1"            # the student's answer: a variable (dict keys by dots) ...
    call = false                  # ... or, with call = true, a function called without arguments
    points = 1

The worker returns the student's value as plain data (lists, ints, strings: ``"18/25"`` for a
fraction); the verdict uses the exam's normal forms and partial credit
(:mod:`grader.exam.answers`). :func:`render_quiz` gives the question text for the notebook.
"""
from __future__ import annotations

from ..i18n import current, t
from .base import CheckDefinitionError, CheckKind, Part, Plan, register, require_target, worker_error_text


def _question(spec):
    from ..exam.questions import BANK, generate

    kind = spec.get("question")
    if kind not in BANK:
        raise CheckDefinitionError(f"check {spec.name!r}: question must be one of {sorted(BANK)}, got {kind!r}")
    seed = spec.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise CheckDefinitionError(f"check {spec.name!r}: seed must be a non-negative int (the variant the "
                                   f"notebook prints)")
    return generate(kind, seed, spec.get("lang", "en"), qid=spec.target, points=spec.points)


def render_quiz(kind: str, seed: int, lang: str = "en") -> str:
    """The Markdown of a quiz question, to paste into the assignment's notebook."""
    from ..exam.questions import generate

    q = generate(kind, seed, lang)
    text = q.text(lang)
    if q.choices:
        text += "\n\n" + "\n".join(f"- {c}" for c in q.choice_lines(lang))
    return text


def answer_form(q) -> str:
    """The form a quiz answer is written in (from its answer type; never the answer itself)."""
    kind = q.answer_type
    if kind == "shape":
        return t("grading.quiz_form_shape", n=len(q.answer))
    if kind == "tuple":
        return t("grading.quiz_form_tuple", n=len(q.answer))
    if kind == "choice":
        letters = "ABCDEFGHIJ"[:max(len(q.choices), 1)]
        return t("grading.quiz_form_choice", letters=", ".join(letters))
    if kind in ("int", "ratio"):
        return t(f"grading.quiz_form_{kind}")
    return ""


@register
class QuizCheck(CheckKind):
    kind = "quiz"

    def validate(self, spec):
        require_target(spec, "the student's answer variable")
        _question(spec)

    def plan(self, spec, rng):
        q = _question(spec)
        step = {"let": "a", "call": spec.target} if spec.get("call", False) else {"let": "a", "get": spec.target}
        return Plan([step], {"a": "a"}, context={"question": q})

    def judge(self, spec, plan, result):
        from ..exam.answers import score_answer

        q = plan.context["question"]
        form = answer_form(q)
        if "a" not in result.values:
            text = t("grading.quiz_no_answer", target=spec.target, why=worker_error_text(result))
            if form:
                text += " " + t("grading.quiz_form", form=form)
            return [Part(spec.display_name, spec.points, 0.0, text, {"kind": self.kind, "failed": True})]
        frac, verdict = score_answer(q.answer_type, q.answer, result.values["a"],
                                     partial=q.partial_rule == "per_component", n_choices=len(q.choices),
                                     choices=q.choices)
        score = round(spec.points * frac, 6)
        text = f"`{spec.target}` ({q.title(current())}): {verdict}."
        extra = {"kind": self.kind}
        if frac < 1.0:
            extra["failed"] = True
            if form:
                text += " " + t("grading.quiz_form", form=form)
            if spec.visibility != "visible" or frac > 0:
                text += "\n\n" + t("grading.quiz_formula", formula=q.explanation)
        return [Part(spec.display_name, spec.points, score, text, extra)]
