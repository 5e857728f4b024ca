"""The batch progress bar shows from the first second, with per-submission status."""
import io
import time

from grader.batch.progress import Progress


def test_bar_is_drawn_at_start_and_ticks_before_any_result():
    out = io.StringIO()
    bar = Progress(3, stream=out, enabled=True, tick=0.05)
    bar.start()
    assert "0/3" in out.getvalue() and "0s" in out.getvalue()      # drawn at once
    deadline = time.monotonic() + 5
    while out.getvalue().count("\r") < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert out.getvalue().count("\r") >= 3                          # redrawn while nothing finished
    bar.update(note="alice: ok", status="ok")
    bar.update(failed=True, note="bob: timeout", status="timeout")
    line = bar.line()
    assert "2/3" in line and "last: bob: timeout" in line and "1 timeout" in line and "1 broken" in line
    bar.finish()
    assert out.getvalue().endswith("\n") and bar._thread is None


def test_disabled_bar_writes_nothing_and_starts_no_thread():
    quiet = io.StringIO()
    bar = Progress(2, stream=quiet, enabled=False)
    bar.start()
    bar.update(note="a: ok", status="ok")
    bar.finish()
    assert quiet.getvalue() == "" and bar._thread is None
