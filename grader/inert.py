"""Make text that carries student bytes inert in the format it is shown in.

Every string a student controls — file and zip member names, names in exports and rosters,
exception messages from their code, stdout — ends up inside text the grader writes: Markdown
(``results.json`` outputs, ``feedback.md``), HTML pages and the TA's terminal. Each format has
one function here, applied where the text leaves the grader, whoever wrote it:

* :func:`inert_markdown` — grader-written Markdown with student text embedded: code spans and
  fenced blocks stay as they are (a viewer shows them literally), everywhere else raw HTML and
  links are neutralized (``<`` becomes ``&lt;``; ``](`` and ``][`` get a backslash, as does the
  ``[`` of a line that could define a link reference), so no
  viewer (GitHub, VS Code, Gradescope, Jupyter) renders a tag, an image or a ``javascript:`` link
  that came from a student. Bold, lists, tables and code keep working.
* :func:`md_code` — a student string shown as one inline code span, whatever backticks it holds.
* :func:`terminal_text` — strips control characters (ANSI escape sequences, carriage returns,
  bells, C1 controls, bidi overrides) before a string reaches a terminal.

HTML pages escape everything with :func:`grader.report._html.esc` before adding markup.
"""
from __future__ import annotations

import re

__all__ = ["inert_markdown", "md_code", "md_text", "terminal_text"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LINK = re.compile(r"(?<!\\)\](?=[(\[])")
_LINK_DEFINITION = re.compile(r" {0,3}\[")       # a line that could be a `[label]: url` definition
_BACKTICKS = re.compile(r"`+")
# C0 controls but \t and \n, DEL, C1 controls, and the bidi / zero-width formatting characters
# that can make a terminal line read differently from what it holds.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")


def _inert_text(text: str) -> str:
    """Neutralize raw HTML, autolinks and link / image / reference syntax outside code."""
    return _LINK.sub(r"]\\", text.replace("<", "&lt;"))


def _inert_line(line: str) -> str:
    """One line outside a fenced block: code spans (CommonMark: a run of n backticks closed by
    the next run of exactly n, a backslash-escaped backtick opens nothing) are kept, the rest is
    made inert."""
    out, i, n = [], 0, len(line)
    start = 0
    while i < n:
        c = line[i]
        if c == "\\" and i + 1 < n:
            i += 2
            continue
        if c != "`":
            i += 1
            continue
        run = _BACKTICKS.match(line, i).group()
        close = None
        for m in _BACKTICKS.finditer(line, i + len(run)):
            if len(m.group()) == len(run):
                close = m
                break
        if close is None:
            i += len(run)
            continue
        out.append(_inert_text(line[start:i]))
        out.append(line[i:close.end()])
        i = start = close.end()
    out.append(_inert_text(line[start:]))
    return "".join(out)


def inert_markdown(text) -> str:
    """Markdown in which nothing a student wrote can render as HTML, an image or a link.

    Idempotent on its own output; text without ``<`` or link brackets is returned unchanged (so
    an honest student's results do not change). Code spans and fenced code blocks are left as
    they are: viewers show their content literally."""
    text = "" if text is None else str(text)
    if "<" not in text and "]" not in text:
        return text
    lines = text.split("\n")
    out, fence = [], None
    for line in lines:
        m = _FENCE.match(line)
        if fence is not None:
            out.append(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[len(m.group(1)):]:
                fence = None
            continue
        if m:
            fence = m.group(1)
            out.append(line)
            continue
        if _LINK_DEFINITION.match(line) and "]:" in line:
            line = line.replace("[", "\\[", 1)
        out.append(_inert_line(line))
    return "\n".join(out)


def md_code(value, limit: int = 300) -> str:
    """``value`` as one inline code span (shown literally by every viewer), at most ``limit``
    characters, on one line; a fence longer than any backtick run inside keeps it closed."""
    s = str(value).replace("\r", " ").replace("\n", " ")
    if len(s) > limit:
        s = s[:limit] + "…"
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def md_text(value) -> str:
    """A student string (a name, an id) as plain Markdown text: the characters that could start
    code, emphasis, links, images, HTML or a table cell are backslash-escaped (``<`` and ``>``
    become entities), line breaks become spaces. ``_`` inside a word is literal in CommonMark."""
    s = str(value).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", s).replace("\\<", "&lt;").replace("\\>", "&gt;")


def terminal_text(value) -> str:
    """``value`` without escape sequences or control characters (newlines and tabs kept)."""
    s = "" if value is None else str(value)
    return _CONTROL.sub("", _ANSI.sub("", s.replace("\r\n", "\n")))
