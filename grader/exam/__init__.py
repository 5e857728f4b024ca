"""Exams and quizzes: the question bank, per-student papers, answer keys and answer grading.

* :mod:`.questions` — generators ``(rng, lang) -> Question`` with torch-cross-checked answers;
* :mod:`.answers` — normal forms of answers and partial credit;
* :mod:`.exam` — ``exam.toml`` and per-student papers (HMAC seeds);
* :mod:`.render` / :mod:`.build` — Markdown / HTML / PDF papers and the staff key;
* :mod:`.grade` — answer files (YAML, JSON, notebook ``ANSWERS = {...}``) to ``results.json``.
"""
from .exam import Exam, ExamError, Paper, load_exam, make_paper
from .questions import BANK, CrossCheckError, Question, generate

__all__ = ["BANK", "CrossCheckError", "Exam", "ExamError", "Paper", "Question", "generate", "load_exam",
           "make_paper"]
