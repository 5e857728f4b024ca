"""A one-line progress bar on stderr: done/total, elapsed time, rate (submissions per minute),
ETA, the count per status and the last submission finished with its status.

``start()`` draws it at once and keeps it alive (elapsed time, a spinner) once a second from a
daemon thread until ``finish()``, so the bar shows from the first second, also while the first
submissions are still being graded. Drawn only when the stream is a terminal (``enabled`` None);
otherwise silent, and the batch prints its final summary alone.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter

SPINNER = "|/-\\"


def fmt_duration(seconds: float) -> str:
    seconds = int(round(max(0.0, seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class Progress:
    def __init__(self, total: int, skipped: int = 0, stream=None, enabled: bool | None = None, width: int = 28,
                 tick: float = 1.0):
        self.total, self.skipped, self.width, self.tick = total, skipped, width, tick
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self.failed = 0
        self.statuses: Counter = Counter()
        self.last = ""
        self.t0 = time.monotonic()
        self._last = 0.0
        self._ticks = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def rate_per_min(self) -> float:
        elapsed = time.monotonic() - self.t0
        return 60.0 * self.done / elapsed if elapsed > 0 and self.done else 0.0

    def line(self) -> str:
        frac = self.done / self.total if self.total else 1.0
        fill = int(round(self.width * frac))
        rate = self.rate_per_min()
        eta = fmt_duration(60.0 * (self.total - self.done) / rate) if rate else "?"
        extra = []
        if self.skipped:
            extra.append(f"{self.skipped} unchanged")
        if self.failed:
            extra.append(f"{self.failed} broken")
        extra += [f"{n} {s}" for s, n in sorted(self.statuses.items()) if s not in ("ok", "broken")]
        tail = f"  ({', '.join(extra)})" if extra else ""
        spin = SPINNER[self._ticks % len(SPINNER)] if self.done < self.total else " "
        last = f"  last: {self.last}" if self.last else ""
        return (f"{spin} [{'#' * fill}{'.' * (self.width - fill)}] {self.done}/{self.total} {100 * frac:3.0f}%  "
                f"{fmt_duration(time.monotonic() - self.t0)}  {rate:5.1f}/min  ETA {eta}{tail}{last}")

    def _draw(self) -> None:
        with self._lock:
            self._last = time.monotonic()
            self.stream.write("\r" + self.line() + "\033[K")
            self.stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self._ticks += 1
            self._draw()

    def start(self) -> None:
        """Draw the bar now (0/N, elapsed 0s) and redraw it every ``tick`` seconds until finish()."""
        if not self.enabled:
            return
        self._draw()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="convgrade-progress", daemon=True)
            self._thread.start()

    def update(self, failed: bool = False, note: str | None = None, status: str | None = None) -> None:
        """One submission finished: ``note`` names it (``"alice: ok"``), ``status`` is counted."""
        self.done += 1
        self.failed += bool(failed)
        if status:
            self.statuses[status] += 1
        if note:
            self.last = note
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.2 or self.done == self.total):
            self._draw()

    def finish(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * self.tick + 1)
            self._thread = None
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
