"""A one-line progress bar on stderr: done/total, rate (submissions per minute), ETA.

Drawn only when the stream is a terminal (at most ~5 times a second); otherwise silent, and the
batch prints its final summary alone.
"""
from __future__ import annotations

import sys
import time


def fmt_duration(seconds: float) -> str:
    seconds = int(round(max(0.0, seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class Progress:
    def __init__(self, total: int, skipped: int = 0, stream=None, enabled: bool | None = None, width: int = 28):
        self.total, self.skipped, self.width = total, skipped, width
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self.failed = 0
        self.t0 = time.monotonic()
        self._last = 0.0

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
        tail = f"  ({', '.join(extra)})" if extra else ""
        return (f"[{'#' * fill}{'.' * (self.width - fill)}] {self.done}/{self.total} {100 * frac:3.0f}%  "
                f"{rate:5.1f}/min  ETA {eta}{tail}")

    def update(self, failed: bool = False) -> None:
        self.done += 1
        self.failed += bool(failed)
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.2 or self.done == self.total):
            self._last = now
            self.stream.write("\r" + self.line() + "\033[K")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
