"""benchmarks/milestones.py --seeds: the a6 solution's held-out accuracy over torch seeds, counted
against the MNIST and transfer checks' bands (the training itself is faked here: the benchmark's business)."""
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
    accs = iter([0.982, 0.966, 0.945, 0.99])
    fine = iter([0.85, 0.77, 0.6, 0.81])
    calls = []

    def fake_run(sol, split, epochs, device, seed=0):
        calls.append((epochs, device, seed))
        return 1.0, next(accs)

    monkeypatch.setattr(bench, "run", fake_run)
    monkeypatch.setattr(bench, "run_transfer", lambda sol, split, spec, seed=0: next(fine))
    bench.main(["--seeds", "4"])
    out = capsys.readouterr().out
    assert calls == [(7, "cpu", s) for s in range(4)]           # train's own default epochs
    mnist, transfer = out.split("\nMNIST: ")[1].split("\ntransfer: ")
    assert "below 97.0% (100% of the points): 2 of 4 seeds" in mnist
    assert "below 95.0% (50% of the points): 1 of 4 seeds" in mnist
    assert "min 94.50%" in mnist and "max 99.00%" in mnist
    assert "below 78.0% (100% of the points): 2 of 4 seeds" in transfer
    assert "below 70.0% (50% of the points): 1 of 4 seeds" in transfer
