"""convgrade check's terminal report in English and Russian."""
from grader.report.console import check_report

from .fixtures import make_results


def test_check_report_en_and_ru():
    res = make_results("public", "failing")
    en = check_report(res, "en")
    assert en[0].startswith("note: Dropped 2 IPython magics")
    assert "FAIL conv2d_forward  (0/3)" in en and "PASS conv2d_backward  (3/3)" in en
    assert en[-1].startswith("2/4 visible checks pass.")
    ru = check_report(res, "ru", style=lambda t, ok: f"<{t}>")
    assert "<ОШИБКА> conv2d_forward  (0/3)" in ru and ru[-1].startswith("Пройдено открытых проверок: 2 из 4")
    text = "\n".join(ru)
    for english in ("note:", "PASS", "FAIL", "visible checks pass", "Hidden checks"):
        assert english not in text
