"""benchmarks/milestones.py --seeds: the a6 solution's held-out accuracy over torch seeds, counted
against the MNIST check's bands (the training itself is faked here: the benchmark's business)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]


def test_seeds_spread_counts_the_seeds_below_each_band(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("bench_milestones", ROOT / "benchmarks" / "milestones.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    accs = iter([0.982, 0.976, 0.965, 0.99])
    calls = []

    def fake_run(sol, split, epochs, device, seed=0):
        calls.append((epochs, device, seed))
        return 1.0, next(accs)

    monkeypatch.setattr(bench, "run", fake_run)
    bench.main(["--seeds", "4"])
    out = capsys.readouterr().out
    assert calls == [(7, "cpu", s) for s in range(4)]           # train's own default epochs
    assert "below 98.0% (100% of the points): 2 of 4 seeds" in out
    assert "below 97.0% (50% of the points): 1 of 4 seeds" in out
    assert "min 96.50%" in out and "max 99.00%" in out
