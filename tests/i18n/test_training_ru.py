"""The training and dropout checks speak Russian when the grade is in Russian: their judges called
directly on fabricated worker answers (no sandbox, no training) inside ``language("ru")`` — rows
named by ``name_ru``, every sentence from the ``training`` catalogue section, no English left
outside code; the same judges in English keep their English wording."""
from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from grader.checks import CheckSpec, kind_of
from grader.checks.milestone import history_curve, noise_note
from grader.i18n import language, section_of
from grader.sandbox import ProbeResult

ENGLISH = {"the", "your", "and", "not", "of", "is", "for", "with", "must", "expected", "was", "were",
           "accuracy", "training", "model", "images", "points", "budget", "loss", "check", "mask", "output",
           "than", "better", "scored", "judged", "held", "out", "mean", "zeros", "correct", "likely", "mistake"}


@pytest.fixture(autouse=True)
def cpu(monkeypatch):
    monkeypatch.setenv("CONVGRADE_DEVICE", "cpu")


def english_words(text: str) -> set[str]:
    """Common English words in ``text`` outside `code` spans."""
    prose = re.sub(r"`[^`]*`", " ", text)
    return {w.lower() for w in re.findall(r"[A-Za-z]+", prose)} & ENGLISH


def milestone_spec(kind="milestone", **params):
    base = {"dataset": "digits", "budget_s": {"cpu": 30, "gpu": 10}, "grace_s": 5,
            "bands": [[0.95, 1.0], [0.9, 0.5]]}
    base.update(params)
    s = CheckSpec(name="digits accuracy", kind=kind, points=4.0, params=base, name_ru="Точность на digits")
    kind_of(s).validate(s)
    return s


def judge(s, values=None, status="ok", seed=0, **kw):
    kind = kind_of(s)
    plan = kind.plan(s, np.random.default_rng(seed))
    values = values(plan) if callable(values) else (values or {})
    return plan, kind.judge(s, plan, ProbeResult(status, values=values, seconds=3.0, **kw))


def _pred(y, acc, seed=1):
    rng = np.random.default_rng(seed)
    pred = y.copy()
    wrong = rng.choice(len(y), size=int(round((1 - acc) * len(y))), replace=False)
    pred[wrong] = (pred[wrong] + 1) % 10
    return pred.astype(float)


def test_milestone_rows_in_russian_with_bands_hint_and_comparison():
    s = milestone_spec(compare={"accuracy": 0.93, "share": 0.25, "label": "training from scratch",
                                "label_ru": "обучение с нуля"})
    with language("ru"):
        plan, (main, cmp) = judge(s, lambda p: {"pred": _pred(p.context["y_test"], 0.92)})
    assert main.name == "Точность на digits" and cmp.name == "Точность на digits: лучше, чем обучение с нуля"
    assert "Точность на отложенной выборке" in main.output and "от 95.0%: 100% баллов" in main.output
    assert "Сеть обучается, но недостаточно" in main.output
    assert "не лучше, чем «обучение с нуля»" in cmp.output
    for part in (main, cmp):
        assert english_words(part.output) == set(), (part.output, english_words(part.output))
    # the same judge in English: the English rows and wording the tests and validate rely on
    _, (main_en, cmp_en) = judge(s, lambda p: {"pred": _pred(p.context["y_test"], 0.92)})
    assert main_en.name == "digits accuracy" and cmp_en.name == "digits accuracy: beats training from scratch"
    assert "Held-out accuracy" in main_en.output and "not better than training from scratch" in cmp_en.output


def test_batch_independence_row_in_russian():
    s = milestone_spec(batch_independence={"images": 50, "fillers": 70, "points": 1})
    kind = kind_of(s)
    plan = kind.plan(s, np.random.default_rng(0))
    y, where = plan.context["y_test"], plan.context["batch_where"]
    mixed = np.zeros(120)
    mixed[where] = (y[plan.context["batch_chosen"]] + 1) % 10          # every label changed
    with language("ru"):
        main, batch = kind.judge(s, plan, ProbeResult("ok", values={"pred": y.astype(float), "pred_mixed": mixed},
                                                      seconds=3.0))
    assert batch.name == "Точность на digits: предсказания не зависят от батча" and batch.score == 0
    assert "вперемешку с 70 изображениями-шумом" in batch.output and "`model.eval()`" in batch.output
    assert english_words(batch.output) == set(), batch.output


def test_timeout_logits_and_noise_in_russian():
    s = milestone_spec()
    with language("ru"):
        _, (part,) = judge(s, {}, status="timeout", error={"type": "timeout", "message": ""})
        assert "бюджет времени: 30 с" in part.output and "нулём" in part.output
        assert "`budget_s`" in part.output and english_words(part.output) == set()
        _, (part,) = judge(s, lambda p: {"pred": np.zeros((len(p.context["y_test"]), 10))})
        assert "`argmax(1)`" in part.output and "логиты" in part.output
        assert english_words(part.output) == set(), part.output
        note = noise_note(0.95, [0.95], 400)
        assert note.startswith("Примечание:") and english_words(note) == set()
        assert history_curve(None)[2].startswith("`train` должна возвращать")


def _evidence(logits, param_sum=1.0, grad_norm=None):
    return {"logits": np.asarray(logits, dtype=np.float64), "n_params": 100, "param_sum": float(param_sum),
            "param_norm": 2.0, "grad_norm": grad_norm}


def _logits_for(y, margin, classes=10):
    out = np.zeros((len(y), classes))
    out[np.arange(len(y)), y] = margin
    return out


def test_sanity_kinds_in_russian():
    with language("ru"):
        s = milestone_spec("initial_loss", n=64)
        _, (part,) = judge(s, lambda p: {"eval": _evidence(_logits_for(p.context["y"], 40.0), grad_norm=1.0)})
        assert part.score == 0 and "Кросс-энтропия необученной модели" in part.output
        assert "слишком уверена" in part.output and english_words(part.output) == set(), part.output

        s = milestone_spec("overfit_small_batch", n=32)
        y = None

        def same_params(plan):
            nonlocal y
            y = plan.context["y"]
            return {"before": {"param_sum": 1.0, "param_norm": 2.0}, "eval": _evidence(_logits_for(y, 5.0))}
        _, (part,) = judge(s, same_params)
        assert part.score == 0 and "не изменились за время `train`" in part.output
        assert english_words(part.output) == set(), part.output

        s = milestone_spec("loss_falls", n=64, min_drop=0.2)

        def flat(plan):
            ev = _evidence(_logits_for(plan.context["y_eval"], 0.0))
            return {"history": {"loss": [2.3, 2.3, 2.3, 2.3]}, "before": ev, "after": ev}
        _, (part,) = judge(s, flat)
        assert part.score == 0 and "Функция потерь не убывает" in part.output and "(должна упасть более чем на 20%)" \
            in part.output
        assert english_words(part.output) == set(), part.output


def dropout_spec(kind, **params):
    s = CheckSpec(name=f"Dropout {kind}", kind=kind, points=3.0, visibility="visible", target="Dropout",
                  params=params, name_ru=f"Dropout ({kind})")
    kind_of(s).validate(s)
    return s


def test_dropout_statistics_in_russian():
    s = dropout_spec("dropout_statistics", init={"p": 0.5}, input={"shape": [100, 100]}, ps=[0.2, 0.8])
    kind = kind_of(s)
    plan = kind.plan(s, np.random.default_rng(0))
    rng = np.random.default_rng(3)
    # kept elements not rescaled: the fraction of zeros is right, the mean and the kept values are not
    values = {f"y{i}": (rng.random((100, 100)) >= p).astype(float) for i, p in enumerate(plan.context["ps"])}
    with language("ru"):
        (part,) = kind.judge(s, plan, SimpleNamespace(status="ok", values=values, error=None))
    assert part.name == "Dropout (dropout_statistics)" and part.score == 0
    assert "в режиме обучения на входе из единиц" in part.output and "**Вероятная ошибка:**" in part.output
    assert [d["code"] for d in part.extra["diagnoses"]] == ["dropout_not_rescaled"]
    assert english_words(part.output) == set(), part.output


def test_dropout_mask_rows_and_diagnosis_in_russian():
    s = dropout_spec("dropout_mask", init={"p": 0.5}, input={"shape": [4, 6]})
    kind = kind_of(s)
    plan = kind.plan(s, np.random.default_rng(0))
    x, g = plan.arrays[0], plan.arrays[1]
    rng = np.random.default_rng(5)
    keep = rng.random(x.shape) >= 0.5
    other = rng.random(x.shape) >= 0.5              # backward draws a new mask; a second layer another one
    values = {"y": x * keep * 2.0, "mask": keep, "dx": g * other * 2.0, "mask2": other}
    with language("ru"):
        parts = kind.judge(s, plan, SimpleNamespace(status="ok", values=values, error=None))
    names = [p.name for p in parts]
    assert names == ["Dropout (dropout_mask) — выход", "Dropout (dropout_mask) — градиент по входу (dx)",
                     "Dropout (dropout_mask) — маска из переданного rng"]
    seeded = parts[2]
    assert seeded.score == 0 and "сгенерировали разные маски" in seeded.output
    dx = parts[1]
    assert any(d["code"] == "dropout_mask_not_reused" for d in dx.extra["diagnoses"])
    assert "обратный проход должен использовать маску" in dx.output


def test_every_training_message_is_in_the_training_section():
    for key in ("training.timeout", "training.dropout_rng_ignored", "training.row_beats"):
        assert section_of(key) == "training"
