"""Reports over results.json (docs/ARCHITECTURE.md, "Checks and results"): per-student feedback
(Markdown/HTML), the class gradebook and summary page, and MOSS-style similarity.

Pure functions over dicts and folders; nothing here grades or runs student code.
"""
from grader.report.feedback import render_html, render_markdown
from grader.report.gradebook import collect, read_roster, render_summary_html, write_csv
from grader.report.similarity import Pair, compare, fingerprints, load_sources, render_pairs_html

__all__ = ["render_markdown", "render_html", "collect", "read_roster", "write_csv", "render_summary_html",
           "Pair", "compare", "fingerprints", "load_sources", "render_pairs_html"]
