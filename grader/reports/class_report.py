"""``<out>/report.html``: how the class did, for the instructor, written at the end of ``grader grade``.

Built from the saved ``results/<student>.json`` files (so a resumed run reports on everyone):
the score histogram, each function's pass rate, the most common mistakes the grader recognised,
the submissions that could not be graded at all, and every student's score with a link to their
feedback page. One self-contained page: the histogram is an embedded PNG, the rest is HTML.
"""
from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import numpy as np

from course.exercises.base import Assignment
from grader.grading.results import assignment_of, atomic_write, file_name, grader_fault, read_json
from grader.pictures import data_uri, png
from grader.pictures.generic import new_figure
from grader.reports.feedback import text

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
 color:#1d1d1f;line-height:1.4}
h1{font-size:1.45rem} h2{font-size:1.15rem;margin-top:1.8rem}
table{border-collapse:collapse} td,th{padding:.2rem .7rem;text-align:left;border-bottom:1px solid #eee}
td.num,th.num{text-align:right} .rate{display:inline-block;width:10rem;height:.7rem;background:#eee;
 border-radius:4px;overflow:hidden;vertical-align:middle} .rate>span{display:block;height:100%;background:#2a9d4b}
img{max-width:100%;height:auto} .stats span{margin-right:1.5rem}
"""
TOP_HINTS = 12
"""mistakes listed at most: enough for every mistake A1 names in a class that makes them all"""


def _tests(saved: dict) -> dict[str, dict]:
    return {t.get("name"): t for t in saved.get("tests") or [] if isinstance(t, dict)}


def class_scores(saved: list[dict]) -> list[float]:
    """The scores the histogram shows: every graded student's (a grader fault has no score)."""
    return [float(s.get("score") or 0.0) for s in saved if isinstance(s, dict) and not grader_fault(s)]


def summarize(saved: list[dict], assignment: Assignment) -> dict:
    """The numbers on the page, as plain data (also what the tests check)."""
    scores = class_scores(saved)
    passed = Counter()
    hints = Counter()
    unreadable = []
    for s in saved:
        extra = s.get("extra_data") or {}
        if extra.get("problem"):
            unreadable.append((str(extra.get("student")), str(extra["problem"])))
        for name, t in _tests(s).items():
            if t.get("status") == "passed":
                passed[name] += 1
            hint = (t.get("extra_data") or {}).get("hint")
            if hint:
                hints[(name, hint)] += 1
    messages = {(ex.name, h.name): h.message for ex in assignment.exercises for h in ex.hints}
    return {
        "students": len(saved),
        "scores": scores,
        "mean": statistics.fmean(scores) if scores else 0.0,
        "median": statistics.median(scores) if scores else 0.0,
        "full_marks": sum(s == assignment.max_score for s in scores),
        "pass_rate": {ex.name: (passed[ex.name] / len(saved) if saved else 0.0) for ex in assignment.exercises},
        "passed": {ex.name: passed[ex.name] for ex in assignment.exercises},
        "hints": [(name, hint, messages.get((name, hint), hint), n)
                  for (name, hint), n in hints.most_common(TOP_HINTS)],
        "unreadable": unreadable,
    }


def histogram(scores: list[float], max_score: float) -> str:
    """The score histogram as a PNG data URI: one bar per possible score up to 30 points."""
    fig = new_figure(6.0, 2.8)
    ax = fig.add_subplot()
    if max_score <= 30:
        edges = np.arange(-0.5, np.floor(max_score) + 1.0, 1.0)
    else:
        edges = np.linspace(0, max_score, 21)
    counts, edges, _ = ax.hist(np.clip(scores, 0, max_score), bins=edges, color="tab:blue", edgecolor="white")
    ax.set_xlabel(f"score (out of {max_score:g})")
    ax.set_ylabel("students")
    ax.set_xlim(edges[0], edges[-1])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{len(scores)} students", fontsize=10)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.18, top=0.88)
    return data_uri(png(fig))


def histogram_or_none(scores: list[float], max_score: float) -> str | None:
    """``histogram``, or None if it can't be drawn: for a grading worker drawing it for the
    report (``render``'s ``histogram_uri``), which then draws it itself."""
    try:
        return histogram(scores, max_score)
    except Exception:
        return None


SIMILARITY = "similarity/index.html"
"""where ``grader similarity`` writes its index, relative to the report, when given the same folder"""


def render(saved: list[dict], assignment: Assignment, *, similarity: str | None = None,
           histogram_uri: str | None = None) -> str:
    """The page; ``similarity``: a link to ``grader similarity``'s results, if there are some;
    ``histogram_uri``: the histogram of ``class_scores(saved)``, when a process whose matplotlib
    is warm drew it (a grading worker), else it is drawn here."""
    saved = [r for r in saved if isinstance(r, dict)]
    s = summarize(saved, assignment)
    parts = ["<!doctype html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<title>{text(assignment.id)}: class report</title><style>{STYLE}</style></head><body>",
             f"<h1>{text(assignment.id)} — {text(assignment.title)}: class report</h1>",
             f"<p class='stats' id='stats' data-students='{s['students']}'><span>{s['students']} students</span>"
             f"<span>mean {s['mean']:.2f} / {assignment.max_score:g}</span><span>median {s['median']:g}</span>"
             f"<span>full marks: {s['full_marks']}</span></p>",
             ]
    if similarity:
        parts.append(f"<p id='similarity'><a href='{text(similarity)}'>Similar submissions</a> "
                     "(grader similarity): the pairs that share the most rare code.</p>")
    parts.append("<h2>Scores</h2>")
    if saved:
        uri = histogram_uri or histogram(s["scores"], assignment.max_score)
        parts.append(f"<figure id='histogram'><img src='{uri}' "
                     "alt='histogram of the scores'></figure>")
    rows = "".join(
        f"<tr data-exercise='{text(ex.name)}' data-pass-rate='{s['pass_rate'][ex.name]:.4f}'>"
        f"<td><code>{text(ex.name)}</code></td><td class='num'>{ex.points:g}</td>"
        f"<td class='num'>{s['passed'][ex.name]} / {s['students']}</td>"
        f"<td><span class='rate'><span style='width:{s['pass_rate'][ex.name]:.1%}'></span></span> "
        f"{s['pass_rate'][ex.name]:.0%}</td></tr>"
        for ex in assignment.exercises)
    parts.append("<h2>Pass rate per function</h2><table id='pass-rates'><thead><tr><th>function</th>"
                 f"<th class='num'>points</th><th class='num'>passed</th><th>rate</th></tr></thead><tbody>{rows}"
                 "</tbody></table>")
    parts.append("<h2>Most common mistakes</h2>")
    if s["hints"]:
        rows = "".join(f"<tr data-hint='{text(hint)}'><td class='num'>{n}</td><td><code>{text(name)}</code></td>"
                       f"<td>{text(message)}</td></tr>" for name, hint, message, n in s["hints"])
        parts.append("<table id='hints'><thead><tr><th class='num'>students</th><th>function</th>"
                     f"<th>hint they were shown</th></tr></thead><tbody>{rows}</tbody></table>")
    else:
        parts.append("<p id='hints'>No recognised mistakes.</p>")
    if s["unreadable"]:
        items = "".join(f"<li><a href='{_link(student)}'>{text(student)}</a>: {text(problem)}</li>"
                        for student, problem in s["unreadable"])
        parts.append(f"<h2>Could not be graded ({len(s['unreadable'])})</h2><ul id='unreadable'>{items}</ul>")
    rows = "".join(
        f"<tr><td><a href='{_link(_student(r))}'>{text(_student(r))}</a></td>"
        f"<td class='num'>{float(r.get('score') or 0):g}</td></tr>"
        for r in sorted(saved, key=_student))
    parts.append(f"<h2>Students</h2><details><summary>all {s['students']} scores, with links to their feedback"
                 f"</summary><table id='students'><tbody>{rows}</tbody></table></details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _link(student: str) -> str:
    return text("feedback/" + quote(file_name(student, ".html").encode("utf-8", "surrogateescape")))


def _student(saved: dict) -> str:
    return str((saved.get("extra_data") or {}).get("student", ""))


def write(path: Path, saved: list[dict], assignment: Assignment, *, histogram_uri: str | None = None) -> Path:
    """Write the report for these saved results to ``path`` (linking similarity results beside it)."""
    path = Path(path)
    similarity = SIMILARITY if (path.parent / SIMILARITY).is_file() else None
    atomic_write(path, render(saved, assignment, similarity=similarity, histogram_uri=histogram_uri))
    return path


def refresh(out: Path, assignment: Assignment, students: list[str]) -> bool:
    """Rewrite ``out/report.html`` from the saved results, if ``grader grade`` wrote one there.

    So a report written before ``grader similarity`` ran links its results. Returns whether it did.
    """
    out = Path(out)
    if not (out / "report.html").is_file():
        return False
    saved = [r for r in (read_json(out / "results" / file_name(s, ".json")) for s in students) if r is not None]
    if any(assignment_of(r) != assignment.id for r in saved):  # another assignment's report: not ours to rewrite
        return False
    write(out / "report.html", saved, assignment)
    return True
