"""The question bank: generators that draw one question from a seeded random generator.

A generator is ``gen(rng, lang="en") -> Question``: it draws the numbers, computes the exact
answer with :mod:`reference.arith` and cross-checks it in this (the grader's) process by building
the torch layer or model — on the ``meta`` device where only shapes matter — and measuring the
same quantity: the output shape of a forward pass, ``numel`` of the parameters, FLOPs counted by
``torch.utils.flop_counter``, the input gradient's support for receptive fields. A disagreement
is a bug in the bank and raises :class:`CrossCheckError`; it never reaches a paper.

Every question carries its text, title, options and explanation in English and Russian (``lang``
only records the language the paper is printed in). Answer types and partial-credit rules are those of
:mod:`grader.exam.answers`.

Kinds (``BANK``): ``conv_output_shape``, ``conv_transpose_output_shape``, ``pool_output_shape``,
``layer_params``, ``model_params``, ``receptive_field``, ``conv_macs``, ``factorized_ratio``,
``separable_ratio``, ``wrong_trace``, ``mc_gradient_step``, ``mc_dropout_inference``,
``mc_padding_borders``, ``mc_batchnorm_eval``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from reference import arith

from .answers import ANSWER_TYPES, format_answer

LANGS = ("en", "ru")


class CrossCheckError(AssertionError):
    """The formula answer and the torch measurement disagree: a bug in the question bank."""


@dataclass
class Question:
    """One drawn question. ``answer`` is exact (int, tuple of ints, Fraction or a choice letter)."""
    id: str
    kind: str
    text_en: str
    text_ru: str
    answer: Any
    points: float = 1.0
    partial_rule: str = "exact"          # "exact" | "per_component"
    answer_type: str = "int"             # one of answers.ANSWER_TYPES
    choices: list[tuple[str, str]] = field(default_factory=list)   # (en, ru) per option A, B, ...
    title_en: str = ""
    title_ru: str = ""
    explanation: str = ""                # how the answer is found: the key and the feedback (English)
    lang: str = "en"
    explanation_ru: str = ""             # the same in Russian ("" when the formula needs no words)

    def __post_init__(self):
        if self.answer_type not in ANSWER_TYPES:
            raise ValueError(f"answer_type must be one of {ANSWER_TYPES}, got {self.answer_type!r}")
        if self.partial_rule not in ("exact", "per_component"):
            raise ValueError(f"partial_rule must be 'exact' or 'per_component', got {self.partial_rule!r}")

    def text(self, lang: str | None = None) -> str:
        lang = lang or self.lang
        check_lang(lang)
        return self.text_ru if lang == "ru" else self.text_en

    def title(self, lang: str | None = None) -> str:
        return self.title_ru if (lang or self.lang) == "ru" else self.title_en

    def how(self, lang: str | None = None) -> str:
        """How the answer is found (the key's "how" column and the feedback's expected line)."""
        return (self.explanation_ru or self.explanation) if (lang or self.lang) == "ru" else self.explanation

    def choice_lines(self, lang: str | None = None) -> list[str]:
        k = 1 if (lang or self.lang) == "ru" else 0
        return [f"{'ABCDEFGH'[i]}) {c[k]}" for i, c in enumerate(self.choices)]

    @property
    def answer_text(self) -> str:
        """The exact answer as printed in the key (English option text; recorded in key.json)."""
        return self.answer_text_in("en")

    def answer_text_in(self, lang: str) -> str:
        """The exact answer in ``lang`` (a choice's option in that language)."""
        if self.answer_type == "choice":
            i = "ABCDEFGH".index(self.answer)
            return f"{self.answer}) {self.choices[i][1 if lang == 'ru' else 0]}"
        return format_answer(self.answer_type, self.answer)

    @property
    def answer_value(self):
        """The exact answer as JSON data: int, list of ints, "p/q" or a letter."""
        if self.answer_type in ("shape", "tuple"):
            return [int(v) for v in self.answer]
        if self.answer_type == "ratio":
            f = Fraction(self.answer)
            return f"{f.numerator}/{f.denominator}"
        return self.answer

    def fingerprint(self) -> tuple:
        """What makes two variants different (text and answer)."""
        return (self.kind, self.text_en, str(self.answer))


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return lang


def _agree(what: str, formula, measured) -> None:
    if formula != measured:
        raise CrossCheckError(f"{what}: reference.arith gives {formula!r}, torch measures {measured!r}")


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _shape(t) -> str:
    return "(" + ", ".join(str(int(v)) for v in t) + ")"


def _output_shape_question(kind: str, call: str, in_shape, answer, title_en: str, title_ru: str,
                           explanation: str | tuple[str, str], lang: str) -> Question:
    """"A layer `call` gets an input of shape ... What is the shape of its output?", with
    per-component partial credit: the common form of the output-shape generators."""
    return Question(
        "", kind,
        f"A layer `{call}` gets an input of shape (N, C, H, W) = {_shape(in_shape)}. "
        f"What is the shape of its output? Answer with four numbers (N, C, H, W).",
        f"Слой `{call}` получает вход размера (N, C, H, W) = {_shape(in_shape)}. "
        f"Какого размера будет выход? Ответ — четыре числа (N, C, H, W).",
        answer, partial_rule="per_component", answer_type="shape",
        title_en=title_en, title_ru=title_ru, lang=lang, **_explained(explanation))


def _explained(explanation: str | tuple[str, str]) -> dict:
    """``explanation``/``explanation_ru`` keywords from one text (a formula) or an (en, ru) pair."""
    en, ru = (explanation, "") if isinstance(explanation, str) else explanation
    return {"explanation": en, "explanation_ru": ru}


# ------------------------------------------------------------------------------- torch measurements

def _torch():
    import torch
    return torch


def torch_output_shape(module, in_shape) -> tuple[int, ...]:
    """Output shape of ``module`` (built on the meta device) for an input of ``in_shape``."""
    torch = _torch()
    with torch.no_grad():
        y = module(torch.empty(tuple(in_shape), device="meta"))
    return tuple(int(v) for v in y.shape)


def torch_param_count(module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def torch_macs(module, in_shape) -> int:
    """Multiply-accumulates of one forward pass (``FlopCounterMode`` FLOPs / 2)."""
    torch = _torch()
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.empty(tuple(in_shape), device="meta"))
    return int(counter.get_total_flops()) // 2


def torch_receptive_field(layers: list[tuple[int, int, int]], length: int = 96) -> tuple[int, int, int]:
    """(size, stride, padding) of a 1-D conv stack measured with autograd: all-ones kernels, the
    gradient of two interior output units w.r.t. the input; its support is each unit's field."""
    torch = _torch()
    mods = [torch.nn.Conv1d(1, 1, k, stride=s, padding=p, bias=False, dtype=torch.float64)
            for k, s, p in layers]
    for m in mods:
        torch.nn.init.ones_(m.weight)
    net = torch.nn.Sequential(*mods)
    x = torch.ones(1, 1, length, dtype=torch.float64, requires_grad=True)
    y = net(x)
    n_out = y.shape[-1]
    spans = []
    for j in (n_out // 2, n_out // 2 + 1):
        g, = torch.autograd.grad(y[0, 0, j], x, retain_graph=True)
        nz = torch.nonzero(g[0, 0]).flatten()
        spans.append((int(nz[0]), int(nz[-1])))
    (a0, b0), (a1, _) = spans
    j0 = n_out // 2
    stride = a1 - a0
    size = b0 - a0 + 1
    padding = j0 * stride - a0
    return size, stride, padding


# ------------------------------------------------------------------------------- generators

def conv_output_shape(rng: np.random.Generator, lang: str = "en") -> Question:
    """Output shape of ``Conv2d`` for (k, s, p, d): per-dimension partial credit."""
    check_lang(lang)
    torch = _torch()
    n = int(rng.integers(1, 9))
    c_in = int(_pick(rng, [1, 3, 8, 16, 32]))
    c_out = int(_pick(rng, [4, 6, 8, 12, 16, 24, 32, 64]))
    k = int(_pick(rng, [1, 3, 3, 5, 5, 7]))
    s = int(_pick(rng, [1, 2, 2, 3]))
    p = int(rng.integers(0, k // 2 + 2))
    d = int(_pick(rng, [1, 1, 1, 2]))
    h = int(rng.integers(d * (k - 1) + 4, 80))
    w = int(rng.integers(d * (k - 1) + 4, 80))
    answer = arith.conv_output_shape((n, c_in, h, w), c_out, k, stride=s, padding=p, dilation=d)
    layer = torch.nn.Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d, device="meta")
    _agree("conv output shape", answer, torch_output_shape(layer, (n, c_in, h, w)))
    call = f"nn.Conv2d({c_in}, {c_out}, kernel_size={k}, stride={s}, padding={p}, dilation={d})"
    return _output_shape_question("conv_output_shape", call, (n, c_in, h, w), answer,
                                  "Output shape of a convolution",
                                  "Размер выхода свёртки",
                                  ("H_out = floor((H + 2P − D(K − 1) − 1)/S) + 1 per axis",
                                   "H_out = floor((H + 2P − D(K − 1) − 1)/S) + 1 по каждой оси"), lang)


def conv_transpose_output_shape(rng: np.random.Generator, lang: str = "en") -> Question:
    """Output shape of ``ConvTranspose2d`` (k, s, p, output_padding, d)."""
    check_lang(lang)
    torch = _torch()
    n = int(rng.integers(1, 9))
    c_in = int(_pick(rng, [8, 16, 32, 64, 128]))
    c_out = int(_pick(rng, [3, 4, 8, 16, 32]))
    k = int(_pick(rng, [2, 3, 4, 5]))
    s = int(_pick(rng, [1, 2, 2, 3]))
    d = int(_pick(rng, [1, 1, 2]))
    op = int(rng.integers(0, max(s, d)))
    h = int(rng.integers(3, 33))
    w = int(rng.integers(3, 33))
    p = int(rng.integers(0, (k - 1) // 2 + 1))
    out_hw = tuple(arith.conv_transpose_output_size(v, k, stride=s, padding=p, output_padding=op, dilation=d)
                   for v in (h, w))
    answer = (n, c_out) + out_hw
    layer = torch.nn.ConvTranspose2d(c_in, c_out, k, stride=s, padding=p, output_padding=op, dilation=d,
                                     device="meta")
    _agree("transposed conv output shape", answer, torch_output_shape(layer, (n, c_in, h, w)))
    call = (f"nn.ConvTranspose2d({c_in}, {c_out}, kernel_size={k}, stride={s}, padding={p}, "
            f"output_padding={op}, dilation={d})")
    return _output_shape_question("conv_transpose_output_shape", call, (n, c_in, h, w), answer,
                                  "Output shape of a transposed convolution",
                                  "Размер выхода транспонированной свёртки",
                                  "H_out = (H − 1)S − 2P + D(K − 1) + output_padding + 1", lang)


def pool_output_shape(rng: np.random.Generator, lang: str = "en") -> Question:
    """Output shape of ``MaxPool2d`` (kernel, stride, padding, ceil_mode)."""
    check_lang(lang)
    torch = _torch()
    n = int(rng.integers(1, 9))
    c = int(_pick(rng, [3, 16, 32, 64]))
    k = int(_pick(rng, [2, 2, 3, 3]))
    s = int(_pick(rng, [1, 2, 2, 3]))
    p = int(rng.integers(0, k // 2 + 1))
    ceil = bool(rng.integers(2))
    h, w = int(rng.integers(k + 3, 70)), int(rng.integers(k + 3, 70))
    hw = tuple(arith.pool_output_size(v, k, stride=s, padding=p, ceil_mode=ceil) for v in (h, w))
    answer = (n, c) + hw
    layer = torch.nn.MaxPool2d(k, stride=s, padding=p, ceil_mode=ceil)
    _agree("pool output shape", answer, torch_output_shape(layer, (n, c, h, w)))
    call = f"nn.MaxPool2d(kernel_size={k}, stride={s}, padding={p}, ceil_mode={ceil})"
    return _output_shape_question("pool_output_shape", call, (n, c, h, w), answer,
                                  "Output shape of max pooling",
                                  "Размер выхода макс-пулинга",
                                  ("floor (or ceil with ceil_mode) of (H + 2P − K)/S, plus 1",
                                   "floor (или ceil при ceil_mode) от (H + 2P − K)/S, плюс 1"), lang)


def layer_params(rng: np.random.Generator, lang: str = "en") -> Question:
    """Trainable parameters of one conv / depthwise / separable / linear / batch-norm layer."""
    check_lang(lang)
    torch = _torch()
    nn = torch.nn
    which = _pick(rng, ["conv", "conv", "depthwise", "separable", "linear", "batchnorm"])
    bias = bool(rng.integers(2))
    if which == "conv":
        c_in, c_out = int(_pick(rng, [3, 16, 32, 64, 128])), int(_pick(rng, [8, 32, 64, 96, 128, 256]))
        k = int(_pick(rng, [1, 3, 5, 7]))
        answer = arith.conv_params(c_in, c_out, k, bias=bias)
        module = nn.Conv2d(c_in, c_out, k, bias=bias, device="meta")
        desc = f"`nn.Conv2d({c_in}, {c_out}, kernel_size={k}, bias={bias})`"
        desc_ru = desc
        expl = ("C_out·(K·K·C_in) (+ C_out biases)", "C_out·(K·K·C_in) (+ C_out смещений)")
    elif which == "depthwise":
        c, k = int(_pick(rng, [16, 32, 64, 96, 144])), int(_pick(rng, [3, 5]))
        answer = arith.conv_params(c, c, k, groups=c, bias=bias)
        module = nn.Conv2d(c, c, k, groups=c, bias=bias, device="meta")
        desc = f"the depthwise convolution `nn.Conv2d({c}, {c}, kernel_size={k}, groups={c}, bias={bias})`"
        desc_ru = f"depthwise-свёртки `nn.Conv2d({c}, {c}, kernel_size={k}, groups={c}, bias={bias})`"
        expl = ("C·K·K (+ C biases): one K×K filter per channel",
                "C·K·K (+ C смещений): по одному фильтру K×K на канал")
    elif which == "separable":
        c_in, c_out = int(_pick(rng, [16, 32, 64, 128])), int(_pick(rng, [32, 64, 128, 256]))
        k = int(_pick(rng, [3, 5]))
        answer = arith.depthwise_separable_params(c_in, c_out, k, bias=bias)
        module = nn.Sequential(nn.Conv2d(c_in, c_in, k, groups=c_in, bias=bias, device="meta"),
                               nn.Conv2d(c_in, c_out, 1, bias=bias, device="meta"))
        desc = (f"a depthwise-separable convolution from {c_in} to {c_out} channels with a {k}×{k} "
                f"depthwise kernel (`bias={bias}` in both convolutions)")
        desc_ru = (f"depthwise-separable свёртки из {c_in} в {c_out} каналов с depthwise-ядром {k}×{k} "
                   f"(`bias={bias}` в обеих свёртках)")
        expl = ("K²·C_in + C_in·C_out (+ C_in + C_out biases)", "K²·C_in + C_in·C_out (+ C_in + C_out смещений)")
    elif which == "linear":
        f_in, f_out = int(_pick(rng, [84, 120, 256, 512, 784, 1024])), int(_pick(rng, [10, 84, 100, 256, 1000]))
        answer = arith.linear_params(f_in, f_out, bias=bias)
        module = nn.Linear(f_in, f_out, bias=bias, device="meta")
        desc = f"`nn.Linear({f_in}, {f_out}, bias={bias})`"
        desc_ru = desc
        expl = ("(n_in + 1)·n_out with bias, n_in·n_out without", "(n_in + 1)·n_out со смещением, n_in·n_out без него")
    else:
        c = int(_pick(rng, [16, 32, 64, 128, 256, 512]))
        answer = arith.batchnorm_params(c)
        module = nn.BatchNorm2d(c, device="meta")
        desc = f"`nn.BatchNorm2d({c})` (count trainable parameters only, not running statistics)"
        desc_ru = f"`nn.BatchNorm2d({c})` (только обучаемые параметры, без накопленных статистик)"
        expl = ("γ and β: 2·C (running mean/var are buffers)",
                "γ и β: 2·C (скользящие среднее и дисперсия — буферы, не параметры)")
    _agree(f"{which} parameters", answer, torch_param_count(module))
    return Question(
        "", "layer_params",
        f"How many trainable parameters does {desc} have?",
        f"Сколько обучаемых параметров у {desc_ru}?",
        answer, answer_type="int", title_en="Parameters of a layer", title_ru="Параметры слоя",
        lang=lang, **_explained(expl))


def _small_model(rng: np.random.Generator):
    """A random small CNN: conv blocks (optionally batch norm), pooling, flatten, one or two
    linear layers. Returns (torch module on meta, layer lines, input shape)."""
    torch = _torch()
    nn = torch.nn
    c_in = int(_pick(rng, [1, 3]))
    size = int(_pick(rng, [16, 28, 32]))
    layers, lines = [], []
    c, hw = c_in, size
    for _ in range(int(rng.integers(2, 4))):
        c_out = int(_pick(rng, [4, 6, 8, 16, 32]))
        k = int(_pick(rng, [3, 5]))
        pad = int(_pick(rng, [0, k // 2])) if hw >= k + 2 else k // 2
        bn = bool(rng.integers(2))
        layers.append(nn.Conv2d(c, c_out, k, padding=pad, bias=not bn, device="meta"))
        lines.append(f"nn.Conv2d({c}, {c_out}, kernel_size={k}, padding={pad}, bias={not bn})")
        if bn:
            layers.append(nn.BatchNorm2d(c_out, device="meta"))
            lines.append(f"nn.BatchNorm2d({c_out})")
        layers.append(nn.ReLU())
        lines.append("nn.ReLU()")
        hw = arith.conv_output_size(hw, k, padding=pad)
        if hw >= 4:
            layers.append(nn.MaxPool2d(2))
            lines.append("nn.MaxPool2d(2)")
            hw = arith.pool_output_size(hw, 2)
        c = c_out
    layers.append(nn.Flatten())
    lines.append("nn.Flatten()")
    feats = c * hw * hw
    hidden = int(_pick(rng, [0, 32, 64, 100]))
    if hidden:
        layers += [nn.Linear(feats, hidden, device="meta"), nn.ReLU()]
        lines += [f"nn.Linear({feats}, {hidden})", "nn.ReLU()"]
        feats = hidden
    layers.append(nn.Linear(feats, 10, device="meta"))
    lines.append(f"nn.Linear({feats}, 10)")
    return nn.Sequential(*layers), lines, (1, c_in, size, size)


def _formula_params(module) -> int:
    """The parameter count of a Sequential from the layers' constructor arguments (arith)."""
    torch = _torch()
    total = 0
    for m in module:
        if isinstance(m, torch.nn.Conv2d):
            total += arith.conv_params(m.in_channels, m.out_channels, m.kernel_size, groups=m.groups,
                                       bias=m.bias is not None)
        elif isinstance(m, torch.nn.Linear):
            total += arith.linear_params(m.in_features, m.out_features, bias=m.bias is not None)
        elif isinstance(m, torch.nn.BatchNorm2d):
            total += arith.batchnorm_params(m.num_features, affine=m.affine)
    return total


def model_params(rng: np.random.Generator, lang: str = "en") -> Question:
    """Total trainable parameters of a small Sequential CNN."""
    check_lang(lang)
    model, lines, in_shape = _small_model(rng)
    answer = _formula_params(model)
    _agree("model parameters", answer, torch_param_count(model))
    torch_output_shape(model, in_shape)      # the model really runs on this input
    code = "```\nnn.Sequential(\n" + "".join(f"    {ln},\n" for ln in lines) + ")\n```"
    return Question(
        "", "model_params",
        f"How many trainable parameters does this model have (input {_shape(in_shape)})?\n\n{code}",
        f"Сколько обучаемых параметров у этой модели (вход {_shape(in_shape)})?\n\n{code}",
        answer, answer_type="int", title_en="Parameters of a model", title_ru="Параметры модели",
        explanation="sum over conv, batch-norm and linear layers; ReLU/pool/flatten have none",
        explanation_ru="сумма по свёрточным слоям, батч-нормализации и полносвязным слоям; у ReLU, пулинга и "
                       "flatten параметров нет", lang=lang)


def receptive_field(rng: np.random.Generator, lang: str = "en") -> Question:
    """Receptive field size, effective stride and effective padding of a conv/pool stack."""
    check_lang(lang)
    layers, lines = [], []
    for _ in range(int(rng.integers(2, 5))):
        if rng.integers(3) == 0:
            k = int(_pick(rng, [2, 3]))
            s = 2
            layers.append((k, s, 0))
            lines.append(f"pool: kernel {k}, stride {s}, padding 0")
        else:
            k = int(_pick(rng, [1, 3, 3, 5, 7]))
            s = int(_pick(rng, [1, 1, 2]))
            p = int(_pick(rng, [0, k // 2]))
            layers.append((k, s, p))
            lines.append(f"conv: kernel {k}, stride {s}, padding {p}")
    rf = arith.receptive_field(layers)
    answer = (rf.size, rf.stride, rf.padding)
    _agree("receptive field", answer, torch_receptive_field(layers, length=64 * rf.stride + rf.size))
    stack = "\n".join(f"{i + 1}. {ln}" for i, ln in enumerate(lines))
    stack_ru = stack.replace("pool", "пулинг").replace("conv", "свёртка").replace("kernel", "ядро") \
        .replace("stride", "шаг").replace("padding", "паддинг")
    return Question(
        "", "receptive_field",
        "A stack of layers (along one axis, applied in this order):\n\n" + stack +
        "\n\nFor a unit of the last layer give (receptive field size, effective stride, effective "
        "padding) with respect to the input: three numbers.",
        "Последовательность слоёв (по одной оси, в этом порядке):\n\n" + stack_ru +
        "\n\nДля нейрона последнего слоя укажите (размер рецептивного поля, эффективный шаг, "
        "эффективный паддинг) относительно входа: три числа.",
        answer, partial_rule="per_component", answer_type="tuple",
        title_en="Receptive field", title_ru="Рецептивное поле",
        explanation="r_l = r_{l−1} + (k_l − 1)·S_{l−1}; S_l = S_{l−1}·s_l; P_l = P_{l−1} + p_l·S_{l−1}", lang=lang)


def conv_macs(rng: np.random.Generator, lang: str = "en") -> Question:
    """Multiply-accumulates of one convolution (optionally grouped) on one sample."""
    check_lang(lang)
    torch = _torch()
    c_in = int(_pick(rng, [3, 16, 32, 64]))
    c_out = int(_pick(rng, [16, 32, 64, 128]))
    k = int(_pick(rng, [1, 3, 5]))
    s = int(_pick(rng, [1, 2]))
    hw = int(_pick(rng, [8, 14, 16, 28, 32, 56]))
    groups = int(_pick(rng, [1, 1, 1, 2, 4])) if c_in % 4 == 0 else 1
    p = k // 2
    out = arith.conv_output_size(hw, k, stride=s, padding=p)
    answer = arith.conv_macs(c_in, c_out, k, (out, out), groups=groups)
    layer = torch.nn.Conv2d(c_in, c_out, k, stride=s, padding=p, groups=groups, bias=False, device="meta")
    _agree("conv MACs", answer, torch_macs(layer, (1, c_in, hw, hw)))
    call = f"nn.Conv2d({c_in}, {c_out}, kernel_size={k}, stride={s}, padding={p}, groups={groups}, bias=False)"
    return Question(
        "", "conv_macs",
        f"How many multiply-accumulate operations does `{call}` perform on one input of shape "
        f"{_shape((1, c_in, hw, hw))}?",
        f"Сколько операций умножения-сложения (MAC) выполняет `{call}` на одном входе размера "
        f"{_shape((1, c_in, hw, hw))}?",
        answer, answer_type="int", title_en="Multiply-accumulates", title_ru="Число умножений-сложений",
        explanation="H_out·W_out·C_out·(C_in/groups)·K·K", lang=lang)


def factorized_ratio(rng: np.random.Generator, lang: str = "en") -> Question:
    """Weights of a stack of 3×3 convs with the field of one K×K conv, relative to the K×K conv."""
    check_lang(lang)
    torch = _torch()
    k = int(_pick(rng, [5, 5, 7, 9]))
    c = int(_pick(rng, [16, 32, 64, 128, 256]))
    n = (k - 1) // 2
    answer = arith.factorized_ratio(k, 3)
    big = torch.nn.Conv2d(c, c, k, bias=False, device="meta")
    small = torch.nn.Sequential(*[torch.nn.Conv2d(c, c, 3, bias=False, device="meta") for _ in range(n)])
    _agree("factorized ratio", answer, Fraction(torch_param_count(small), torch_param_count(big)))
    word = {2: ("two", "двумя"), 3: ("three", "тремя"), 4: ("four", "четырьмя")}[n]
    return Question(
        "", "factorized_ratio",
        f"One {k}×{k} convolution ({c} → {c} channels, no bias) is replaced by {word[0]} stacked 3×3 "
        f"convolutions ({c} → {c}, no bias) with the same receptive field. What fraction of the "
        f"original weights does the stack have? Give a fraction such as 3/4.",
        f"Одну свёртку {k}×{k} ({c} → {c} каналов, без bias) заменили {word[1]} последовательными "
        f"свёртками 3×3 ({c} → {c}, без bias) с тем же рецептивным полем. Какую долю исходного числа "
        f"весов составляет новый стек? Ответ — дробь, например 3/4.",
        answer, answer_type="ratio", title_en="Factorized convolutions", title_ru="Факторизация свёрток",
        explanation="n·9·C² / (K²·C²) with n = (K − 1)/2", explanation_ru="n·9·C² / (K²·C²), где n = (K − 1)/2",
        lang=lang)


def separable_ratio(rng: np.random.Generator, lang: str = "en") -> Question:
    """Cost of a depthwise-separable conv relative to a standard one (MobileNet eq. 5)."""
    check_lang(lang)
    torch = _torch()
    nn = torch.nn
    k = int(_pick(rng, [3, 5]))
    m = int(_pick(rng, [16, 32, 64, 128]))
    n_out = int(_pick(rng, [32, 64, 128, 256, 512]))
    hw = int(_pick(rng, [7, 14, 28, 56]))
    answer = arith.separable_cost_ratio(k, n_out)
    standard = nn.Conv2d(m, n_out, k, padding=k // 2, bias=False, device="meta")
    separable = nn.Sequential(nn.Conv2d(m, m, k, padding=k // 2, groups=m, bias=False, device="meta"),
                              nn.Conv2d(m, n_out, 1, bias=False, device="meta"))
    shape = (1, m, hw, hw)
    _agree("separable cost ratio", answer, Fraction(torch_macs(separable, shape), torch_macs(standard, shape)))
    return Question(
        "", "separable_ratio",
        f"A standard {k}×{k} convolution maps a {hw}×{hw}×{m} feature map to {hw}×{hw}×{n_out} "
        f"('same' padding, no bias). It is replaced by a depthwise-separable convolution (depthwise "
        f"{k}×{k}, then pointwise 1×1). What is the ratio of multiply-accumulates, separable / "
        f"standard? Give an exact fraction.",
        f"Обычная свёртка {k}×{k} переводит карту {hw}×{hw}×{m} в {hw}×{hw}×{n_out} (паддинг 'same', без "
        f"bias). Её заменили depthwise-separable свёрткой (depthwise {k}×{k}, затем pointwise 1×1). "
        f"Каково отношение числа умножений-сложений, separable / обычная? Ответ — точная дробь.",
        answer, answer_type="ratio", title_en="Depthwise-separable cost", title_ru="Стоимость depthwise-separable свёртки",
        explanation="1/N + 1/K² (independent of M and the map size)",
        explanation_ru="1/N + 1/K² (не зависит от M и размера карты)", lang=lang)


_MISTAKES = ("no_padding", "no_stride", "channels")


def wrong_trace(rng: np.random.Generator, lang: str = "en") -> Question:
    """A shape trace of a small model with exactly one wrong row: which layer is it?"""
    check_lang(lang)
    torch = _torch()
    model, lines, in_shape = _small_model(rng)
    shapes = []
    hooks = [m.register_forward_hook(lambda mod, i, o: shapes.append(tuple(int(v) for v in o.shape)))
             for m in model]
    torch_output_shape(model, in_shape)
    for h in hooks:
        h.remove()
    if len(shapes) != len(lines):
        raise CrossCheckError("shape trace has a row per layer")
    # a wrong row only where the error is visible: a conv or pooling row
    candidates = [i for i, ln in enumerate(lines) if ln.startswith(("nn.Conv2d", "nn.MaxPool2d"))]
    i = int(_pick(rng, candidates))
    n, c, h, w = shapes[i]
    if lines[i].startswith("nn.MaxPool2d"):
        wrong = (n, c, h * 2, w * 2) if rng.integers(2) else (n, c // 2 or 2 * c, h, w)
    else:
        k = int(lines[i].split("kernel_size=")[1].split(",")[0])
        pad = int(lines[i].split("padding=")[1].split(",")[0])
        # padding forgotten (a 'same' conv shrinks) or added where there is none (a valid conv keeps the size)
        wrong = (n, c, h - (k - 1), w - (k - 1)) if pad else (n, c, h + k - 1, w + k - 1)
        if wrong[2] < 1:
            wrong = (n, c * 2, h, w)
    trace = list(shapes)
    trace[i] = wrong
    answer = i + 1
    rows = "\n".join(f"| {j + 1} | `{ln}` | {_shape(s)} |" for j, (ln, s) in enumerate(zip(lines, trace)))
    return Question(
        "", "wrong_trace",
        f"A student printed the output shape of every layer of `nn.Sequential` for an input of shape "
        f"{_shape(in_shape)}. Exactly one row is wrong. Which layer number is it?\n\n"
        f"| # | layer | output shape |\n|---|---|---|\n{rows}",
        f"Студент напечатал размер выхода каждого слоя `nn.Sequential` для входа размера {_shape(in_shape)}. "
        f"Ровно одна строка неверна. Укажите номер слоя.\n\n"
        f"| # | слой | размер выхода |\n|---|---|---|\n{rows}",
        answer, answer_type="int", title_en="Find the wrong shape", title_ru="Найдите неверный размер",
        explanation=f"layer {answer} really outputs {_shape(shapes[i])}",
        explanation_ru=f"слой {answer} на самом деле выдаёт {_shape(shapes[i])}", lang=lang)


# ------------------------------------------------------------------------------- multiple choice

def _choice_question(rng, lang, kind, title, stem, correct, wrong, explanation, n_wrong=3) -> Question:
    """Shuffle the correct option among ``n_wrong`` drawn wrong ones; the answer is its letter."""
    picked = [wrong[i] for i in rng.permutation(len(wrong))[:n_wrong]]
    options = [correct] + picked
    order = rng.permutation(len(options))
    options = [options[i] for i in order]
    letter = "ABCDEFGH"[int(np.flatnonzero(order == 0)[0])]
    return Question("", kind, stem[0] + "\n\nChoose one letter.", stem[1] + "\n\nВыберите одну букву.",
                    letter, answer_type="choice", choices=options, title_en=title[0], title_ru=title[1],
                    lang=lang, **_explained(explanation))


def _sgd_option_value(option: int, w0: float, lr: float, grad) -> float:
    """Value of option ``option`` of the gradient-step question for Q(w) = (w − 3)²."""
    w_next_guess = w0 - lr * grad(w0)
    return {0: w0 - lr * grad(w0), 1: w0 + lr * grad(w0), 2: w0 - lr * grad(w_next_guess),
            3: w0 - grad(w0) / lr}[option]


def mc_gradient_step(rng: np.random.Generator, lang: str = "en") -> Question:
    """Which formula is a gradient-descent step (the lecture's poll)? Cross-checked with one
    ``torch.optim.SGD`` step on Q(w) = (w − 3)²."""
    check_lang(lang)
    torch = _torch()
    w0, lr = float(rng.uniform(-2, 2)), float(_pick(rng, [0.05, 0.1, 0.2]))
    w = torch.tensor([w0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    ((w - 3) ** 2).sum().backward()
    opt.step()
    w = float(w.detach()[0])

    def grad(v):
        return 2 * (v - 3)

    if abs(w - _sgd_option_value(0, w0, lr, grad)) > 1e-12 or \
            any(abs(w - _sgd_option_value(o, w0, lr, grad)) < 1e-9 for o in (1, 2, 3)):
        raise CrossCheckError("gradient step options disagree with torch.optim.SGD")
    correct = ("w⁽ᵗ⁾ = w⁽ᵗ⁻¹⁾ − η ∇Q(w⁽ᵗ⁻¹⁾)",) * 2
    wrong = [("w⁽ᵗ⁾ = w⁽ᵗ⁻¹⁾ + η ∇Q(w⁽ᵗ⁻¹⁾)",) * 2, ("w⁽ᵗ⁾ = w⁽ᵗ⁻¹⁾ − η ∇Q(w⁽ᵗ⁾)",) * 2,
             ("w⁽ᵗ⁾ = w⁽ᵗ⁻¹⁾ + η ∇Q(w⁽⁰⁾)",) * 2, ("w⁽ᵗ⁾ = w⁽ᵗ⁻¹⁾ − ∇Q(w⁽ᵗ⁻¹⁾) / η",) * 2]
    return _choice_question(
        rng, lang, "mc_gradient_step", ("Gradient descent", "Градиентный спуск"),
        ("Which of these is the step of gradient descent with learning rate η on a loss Q(w)?",
         "Что из этого — формула шага градиентного спуска с темпом обучения η для функции потерь Q(w)?"),
        correct, wrong, ("step against the gradient at the current point (torch.optim.SGD)",
                         "шаг против градиента в текущей точке (torch.optim.SGD)"))


def mc_dropout_inference(rng: np.random.Generator, lang: str = "en") -> Question:
    """What ``nn.Dropout(p)`` does at inference (cross-checked: eval mode is the identity)."""
    check_lang(lang)
    torch = _torch()
    p = float(_pick(rng, [0.2, 0.25, 0.5]))
    layer = torch.nn.Dropout(p).eval()
    x = torch.randn(64, generator=torch.Generator().manual_seed(int(rng.integers(1 << 30))))
    if not torch.equal(layer(x), x):
        raise CrossCheckError("nn.Dropout in eval mode is not the identity")
    correct = ("Nothing: it passes the input through unchanged (inverted dropout already scaled by "
               f"1/(1 − p) during training).",
               "Ничего: пропускает вход без изменений (inverted dropout уже умножил на 1/(1 − p) при обучении).")
    wrong = [(f"It zeroes a random {p:.0%} of the activations, as in training.",
              f"Обнуляет случайные {p:.0%} активаций, как при обучении."),
             (f"It multiplies every activation by {1 - p:g}.", f"Умножает каждую активацию на {1 - p:g}."),
             (f"It divides every activation by {1 - p:g}.", f"Делит каждую активацию на {1 - p:g}."),
             ("It zeroes the same units that were dropped in the last training batch.",
              "Обнуляет те же нейроны, что и в последнем обучающем батче.")]
    return _choice_question(
        rng, lang, "mc_dropout_inference", ("Dropout at inference", "Dropout при инференсе"),
        (f"A model built with `nn.Dropout(p={p})` (PyTorch, inverted dropout) is switched to `model.eval()`. "
         "What does the dropout layer do now?",
         f"Модель с `nn.Dropout(p={p})` (PyTorch, inverted dropout) переведена в `model.eval()`. "
         "Что теперь делает слой dropout?"),
        correct, wrong, ("identity in eval mode; the 1/(1 − p) scaling happens in training",
                         "в режиме eval — тождественное отображение; масштабирование на 1/(1 − p) — при обучении"))


def mc_padding_borders(rng: np.random.Generator, lang: str = "en") -> Question:
    """Why the kind of padding changes what a model learns about image borders (lecture 1)."""
    check_lang(lang)
    kind = _pick(rng, ["zero", "reflection", "replication"])
    correct = {
        "zero": ("The zeros make the border recognizable, so filters can learn where the image edge is "
                 "and the model may lose translation invariance near it.",
                 "Нули делают границу заметной: фильтры могут научиться находить край изображения, и "
                 "модель теряет инвариантность к сдвигу у краёв."),
        "reflection": ("The border is hard to detect, but the model can learn to respond to the mirrored "
                       "patterns the reflection creates.",
                       "Край трудно обнаружить, но модель может подстроиться под зеркальные отражения, "
                       "которые создаёт паддинг."),
        "replication": ("Border pixels are repeated, and the model can still fit the constant stripes this "
                        "padding creates at the edges.",
                        "Граничные пиксели повторяются, и модель всё ещё может подстроиться под полосы, "
                        "которые такой паддинг создаёт у краёв."),
    }[kind]
    wrong = [("Padding has no effect on what is learned: it only changes the output size.",
              "Паддинг не влияет на обучение: он меняет только размер выхода."),
             ("Padding removes the border pixels from the input, so objects at the edge are ignored.",
              "Паддинг удаляет граничные пиксели, поэтому объекты у края игнорируются."),
             ("Every padding kind makes the border statistically identical to the image interior.",
              "Любой паддинг делает границу статистически неотличимой от центра изображения."),
             ("Padding is only used in pooling layers, so convolutions never see the border.",
              "Паддинг используется только в пулинге, поэтому свёртки никогда не видят границу.")]
    names = {"zero": ("zero", "нулевого", "нулевой"),
             "reflection": ("reflection", "отражающего (reflection)", "отражающий"),
             "replication": ("replication", "повторяющего (replication)", "повторяющий")}[kind]
    return _choice_question(
        rng, lang, "mc_padding_borders", ("Padding and borders", "Паддинг и границы"),
        (f"Which statement about {names[0]} padding and what a CNN learns about image borders is true?",
         f"Какое утверждение об использовании {names[1]} паддинга и о том, что CNN узнаёт о границах "
         f"изображения, верно?"),
        correct, wrong, (f"lecture 1, '{kind} padding'", f"лекция 1, «{names[2]} паддинг»"))


def mc_batchnorm_eval(rng: np.random.Generator, lang: str = "en") -> Question:
    """What batch norm normalizes with in eval mode (cross-checked with ``nn.BatchNorm1d``)."""
    check_lang(lang)
    torch = _torch()
    bn = torch.nn.BatchNorm1d(3).eval()
    bn.running_mean.fill_(1.0)
    bn.running_var.fill_(4.0)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(int(rng.integers(1 << 30))))
    expected = (x - 1.0) / torch.sqrt(torch.tensor(4.0 + bn.eps))
    if not torch.allclose(bn(x), expected):
        raise CrossCheckError("BatchNorm in eval mode does not use the running statistics")
    correct = ("The running mean and variance accumulated during training.",
               "Скользящими средним и дисперсией, накопленными при обучении.")
    wrong = [("The mean and variance of the current batch.", "Средним и дисперсией текущего батча."),
             ("Mean 0 and variance 1, always.", "Всегда средним 0 и дисперсией 1."),
             ("The mean and variance of the current single example.", "Средним и дисперсией текущего примера."),
             ("It is switched off and returns its input.", "Никакими: слой отключается и возвращает вход.")]
    return _choice_question(
        rng, lang, "mc_batchnorm_eval", ("Batch norm at inference", "Батч-нормализация при инференсе"),
        ("After `model.eval()`, which statistics does `nn.BatchNorm2d` normalize with?",
         "После `model.eval()` какими статистиками нормирует `nn.BatchNorm2d`?"),
        correct, wrong, ("running statistics in eval mode; batch statistics in training",
                         "в режиме eval — скользящие статистики, при обучении — статистики батча"))


BANK: dict[str, Callable[..., Question]] = {
    "conv_output_shape": conv_output_shape,
    "conv_transpose_output_shape": conv_transpose_output_shape,
    "pool_output_shape": pool_output_shape,
    "layer_params": layer_params,
    "model_params": model_params,
    "receptive_field": receptive_field,
    "conv_macs": conv_macs,
    "factorized_ratio": factorized_ratio,
    "separable_ratio": separable_ratio,
    "wrong_trace": wrong_trace,
    "mc_gradient_step": mc_gradient_step,
    "mc_dropout_inference": mc_dropout_inference,
    "mc_padding_borders": mc_padding_borders,
    "mc_batchnorm_eval": mc_batchnorm_eval,
}


def generate(kind: str, seed: int, lang: str = "en", qid: str = "", points: float = 1.0) -> Question:
    """Draw question ``kind`` from ``seed`` (deterministic), with its id and points set."""
    if kind not in BANK:
        raise ValueError(f"kind must be one of {sorted(BANK)}, got {kind!r}")
    q = BANK[kind](np.random.default_rng(seed), check_lang(lang))
    q.id = qid or kind
    q.points = float(points)
    return q
