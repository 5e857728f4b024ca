"""Students' answers: normal forms and scoring with partial credit.

Every answer type accepts the forms students naturally write and turns them into one normal
form before comparing; anything else is an :class:`AnswerFormatError` whose message says what
was expected (shown in the feedback, never a crash). Messages and verdicts come from the catalogue
(``grader.i18n``, section ``exam``) in the current language:

==========  ================================================  ==============================
type        accepted forms                                    partial credit
==========  ================================================  ==============================
``int``     ``1234``, ``"1234"``, ``"1 234"``, ``"1,234"``,   none: exact match only
            ``1234.0``, ``"1_234"``
``shape``   ``[8, 16, 16]``, ``(8, 16, 16)``,                 per dimension (same length)
            ``"(8,16,16)"``, ``"8x16x16"``, ``"8×16×16"``,
            ``"8, 16, 16"``, ``"[8 16 16]"``
``tuple``   as ``shape`` (several integers, e.g. receptive    per component
            field, effective stride, effective padding)
``ratio``   ``"18/25"``, ``0.72``, ``"0.72"``, ``"72%"``      none; a decimal counts when it
                                                              is within 0.1% of the exact value
``choice``  ``"B"``, ``"b"``, ``"(B)"``, ``"B)"``, and the        none
            Cyrillic look-alikes ``А В С Е Н`` (Russian layout)
==========  ================================================  ==============================
"""
from __future__ import annotations

import math
import re
from fractions import Fraction
from numbers import Integral, Real

from ..i18n import t

ANSWER_TYPES = ("int", "shape", "tuple", "ratio", "choice")
RATIO_RTOL = 1e-3


class AnswerFormatError(ValueError):
    """An answer that cannot be read as the expected type (the message is student-facing)."""


_INT_TEXT = re.compile(r"^[+-]?\d+(?:[ _,\u00a0\u202f]\d{3})*$")
_SEPARATORS = re.compile(r"\s*(?:[x×*,;]|\s)\s*", re.IGNORECASE)


MAX_DIGITS = 30     # no answer of the bank is anywhere near this; longer numbers are not answers
# Cyrillic capitals that look like (and on a Russian layout are typed for) Latin choice letters
CYRILLIC_LOOKALIKES = str.maketrans({"А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H"})


def _short(value) -> str:
    """repr of a student's value for a message, bounded (huge ints have no repr in Python 3.11)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** MAX_DIGITS:
        return t("exam.huge_number", n=MAX_DIGITS)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_int(value) -> int:
    """``1234``, ``"1 234"``, ``"1,234"``, ``1234.0`` -> ``1234``."""
    if isinstance(value, bool):
        raise AnswerFormatError(t("exam.want_int", got=_short(value)))
    if isinstance(value, Integral):
        if abs(int(value)) >= 10 ** MAX_DIGITS:
            raise AnswerFormatError(t("exam.want_int_digits", n=MAX_DIGITS))
        return int(value)
    if isinstance(value, Real):
        f = float(value)
        if math.isfinite(f) and f == int(f):
            return int(f)
        raise AnswerFormatError(t("exam.want_int", got=_short(value)))
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 2 * MAX_DIGITS:
            raise AnswerFormatError(t("exam.want_int_digits", n=MAX_DIGITS))
        if _INT_TEXT.match(text):
            return int(re.sub(r"[ _,\u00a0\u202f]", "", text))
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            return int(float(text))
    raise AnswerFormatError(t("exam.want_int_example", got=_short(value)))


_NAMED_DIM = re.compile(r"(?<![\w])(?:[A-Za-z]|[A-Za-z]_?(?:in|out|[0-9]))\s*[=:]\s*(?=[+-]?\d)")


def parse_ints(value) -> tuple[int, ...]:
    """A sequence of integers: a list/tuple, or text such as ``"(8, 16, 16)"``, ``"8x16x16"``,
    torch's ``"torch.Size([8, 16, 16])"`` or named as on the paper, ``"N=8, C=16, H=16"``."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise AnswerFormatError(t("exam.want_ints_empty"))
        if len(value) > 16:
            raise AnswerFormatError(t("exam.want_ints_many", n=len(value)))
        return tuple(parse_int(v) for v in value)
    if isinstance(value, bool) or value is None:
        raise AnswerFormatError(t("exam.want_ints", got=_short(value)))
    if isinstance(value, Integral):
        return (int(value),)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 200:
            raise AnswerFormatError(t("exam.want_ints_long"))
        # torch's own printout of a shape: torch.Size([8, 16, 16])
        sized = re.fullmatch(r"(?:torch\.)?Size\(\s*(\[.*\])\s*\)", text, re.DOTALL)
        if sized:
            text = sized.group(1)
        if len(text) >= 2 and text[0] + text[-1] in ("()", "[]", "{}"):
            text = text[1:-1].strip()
        # dimensions named as on the paper: N=8, C=16, H=16, W=16
        text = _NAMED_DIM.sub("", text)
        text = text.rstrip(",").strip()
        if not text:
            raise AnswerFormatError(t("exam.want_ints_blank"))
        parts = [p for p in _SEPARATORS.split(text) if p]
        try:
            return tuple(parse_int(p) for p in parts)
        except AnswerFormatError:
            raise AnswerFormatError(t("exam.want_ints_text", got=_short(value))) from None
    raise AnswerFormatError(t("exam.want_ints", got=_short(value)))


def parse_ratio(value) -> Fraction | float:
    """``"18/25"`` -> ``Fraction(18, 25)``; ``0.72`` / ``"0.72"`` / ``"72%"`` -> ``0.72`` (float)."""
    if isinstance(value, bool) or value is None:
        raise AnswerFormatError(t("exam.want_ratio", got=_short(value)))
    if isinstance(value, Fraction):
        return value
    if isinstance(value, Integral):
        return Fraction(parse_int(value))
    if isinstance(value, Real):
        if not math.isfinite(float(value)):
            raise AnswerFormatError(t("exam.want_finite", got=_short(value)))
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if len(text) > 2 * MAX_DIGITS:
            raise AnswerFormatError(t("exam.want_ratio_long"))
        m = re.fullmatch(r"([+-]?\d+)/([+-]?\d+)", text)
        if m:
            if int(m.group(2)) == 0:
                raise AnswerFormatError(t("exam.division_by_zero", got=_short(value)))
            return Fraction(int(m.group(1)), int(m.group(2)))
        m = re.fullmatch(r"([+-]?\d+(?:[.,]\d+)?)%", text)
        if m:
            return float(m.group(1).replace(",", ".")) / 100.0
        m = re.fullmatch(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:e[+-]?\d+)?", text, re.IGNORECASE)
        if m:
            return float(text.replace(",", "."))
    raise AnswerFormatError(t("exam.want_ratio", got=_short(value)))


MAX_CHOICE_TEXT = 2_000     # characters of an answer read as an option's text


def _option_text(text: str) -> str:
    """An option's text as compared: case and runs of whitespace ignored, no final full stop."""
    return " ".join(text.casefold().split()).rstrip(" .;!")


def parse_choice(value, n_choices: int, choices=()) -> str:
    """``"b"``, ``"(B)"``, ``"B)"``, Cyrillic ``"В"`` -> ``"B"``; one of the first ``n_choices`` letters.
    With the options' texts (``choices``: per option, its texts in each language), also an answer
    copied from the paper: the letter with the start of its option's text (``"C) The running
    mean"``), or exactly one option's whole text without the letter."""
    letters = "ABCDEFGH"[:n_choices]
    if isinstance(value, str) and len(value) <= 20:
        text = value.strip().strip("().[] ").upper().translate(CYRILLIC_LOOKALIKES)
        if len(text) == 1 and text in letters:
            return text
    if isinstance(value, str) and choices and len(value) <= MAX_CHOICE_TEXT:
        texts = [{_option_text(o) for o in option} for option in list(choices)[:n_choices]]
        m = re.fullmatch(r"\(?(\w)[).:]\s*(.*)", value.strip(), re.DOTALL)
        if m:
            letter, rest = m.group(1).upper().translate(CYRILLIC_LOOKALIKES), _option_text(m.group(2))
            if letter in letters:
                if any(o.startswith(rest) for o in texts[letters.index(letter)]):
                    return letter
                raise AnswerFormatError(t("exam.want_choice_text", letter=letter, got=_short(value)))
        hits = [letters[i] for i, option in enumerate(texts) if _option_text(value) in option]
        if len(hits) == 1:
            return hits[0]
    raise AnswerFormatError(t("exam.want_choice", letters=", ".join(letters), got=_short(value)))


def normalize(answer_type: str, value, n_choices: int = 0, choices=()):
    """The normal form of a student's answer, or :class:`AnswerFormatError` (``choices``: the
    options' texts, :func:`parse_choice`)."""
    if answer_type == "int":
        return parse_int(value)
    if answer_type in ("shape", "tuple"):
        return parse_ints(value)
    if answer_type == "ratio":
        return parse_ratio(value)
    if answer_type == "choice":
        return parse_choice(value, n_choices, choices)
    raise ValueError(f"answer_type must be one of {ANSWER_TYPES}, got {answer_type!r}")


def format_answer(answer_type: str, value) -> str:
    """How an exact answer is printed in the key and the feedback."""
    if answer_type in ("shape", "tuple"):
        return "(" + ", ".join(str(v) for v in value) + ")"
    if answer_type == "ratio":
        frac = Fraction(value)
        return f"{frac.numerator}/{frac.denominator} ≈ {float(frac):.4g}"
    if answer_type == "int":
        return f"{int(value):,}".replace(",", " ")
    return str(value)


def score_answer(answer_type: str, exact, given, partial: bool = True, n_choices: int = 0,
                 choices=()) -> tuple[float, str]:
    """``(fraction of the points in [0, 1], one-line verdict)`` for a student's ``given`` answer.

    ``partial``: per-component credit for ``shape``/``tuple`` answers of the right length.
    Missing answers (``None``) score 0; malformed ones too, with the format message.
    """
    if given is None:
        return 0.0, t("exam.no_answer")
    try:
        value = normalize(answer_type, given, n_choices, choices)
    except AnswerFormatError as exc:
        return 0.0, t("exam.unreadable_answer", reason=exc)
    if answer_type in ("shape", "tuple"):
        exact = tuple(exact)
        if value == exact:
            return 1.0, t("exam.correct_value", answer=format_answer(answer_type, exact))
        if len(value) != len(exact):
            return 0.0, t("exam.wrong_length", given=format_answer(answer_type, value), n=len(value), m=len(exact))
        right = sum(a == b for a, b in zip(value, exact))
        wrong = [i + 1 for i, (a, b) in enumerate(zip(value, exact)) if a != b]
        frac = right / len(exact) if partial else 0.0
        return frac, t("exam.partly_right", given=format_answer(answer_type, value), right=right, n=len(exact),
                       positions=", ".join(map(str, wrong)))
    if answer_type == "ratio":
        exact = Fraction(exact)
        if isinstance(value, Fraction):
            ok = value == exact
        else:
            ok = abs(value - float(exact)) <= RATIO_RTOL * abs(float(exact))
        return (1.0, t("exam.correct")) if ok else (0.0, t("exam.wrong_ratio", given=_short(given)))
    if value == exact:
        return 1.0, t("exam.correct")
    shown = format_answer(answer_type, value)
    return 0.0, t("exam.wrong", given=shown)
