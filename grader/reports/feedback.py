"""``feedback/<student>.html``: what a student reads after grading.

One self-contained page (styles inline, pictures embedded as data URIs, no scripts, nothing
fetched) with the score, then one section per exercise: passed or not, the points, what went
wrong on which case, the hint for a recognised mistake and, for a failing exercise, a picture of
the student's values against Keras's (see ``grader.pictures``, public cases only).

Hidden cases stay hidden by default (``hidden_feedback="summary"``): the page lists the public
cases in full and, of the hidden ones, only how many passed (and the hint, when the mistake was
recognised). The instructor's copy (``instructor=True``, written to ``instructor/<student>.html``)
and ``hidden_feedback="full"`` list every hidden case with its inputs and what went wrong.
"""
from __future__ import annotations

import html

from course.judge import ExerciseResult
from grader import pictures as pictures_
from grader.grading.results import StudentResult, check_hidden_feedback, readable, student_summary

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:54rem;margin:2rem auto;padding:0 1rem;
 color:#1d1d1f;line-height:1.45}
h1{font-size:1.45rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin:.2rem 0 .5rem}
.score{font-size:1.25rem;font-weight:600;margin:.3rem 0}
.bar{height:.7rem;background:#eee;border-radius:4px;overflow:hidden;max-width:24rem}
.bar>span{display:block;height:100%;background:#2a9d4b}
table.overview{border-collapse:collapse;margin:1rem 0} table.overview td,table.overview th{padding:.15rem .7rem;
 text-align:left;border-bottom:1px solid #eee} table.overview a{color:inherit}
section{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;margin:.9rem 0}
section.pass{border-left:6px solid #2a9d4b} section.fail{border-left:6px solid #d64545}
.mark-pass{color:#2a9d4b} .mark-fail{color:#d64545}
.hint{background:#fff7e0;padding:.45rem .7rem;border-radius:4px}
figure{margin:.6rem 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#555}
table.cases{border-collapse:collapse;font-size:.88rem;width:100%} table.cases td{padding:.15rem .4rem;
 border-top:1px solid #eee;vertical-align:top} code{background:#f4f4f4;padding:0 .2rem;border-radius:3px}
footer{color:#777;font-size:.8rem;margin-top:2rem}
"""


def text(value) -> str:
    """HTML-escaped text; names read from disk may hold undecodable bytes, shown as �."""
    value = str(value)
    return html.escape(value if value.isascii() else readable(value))


_CALLS: dict[tuple[int, str], tuple[object, str]] = {}
"""each case's call as HTML, by ``id`` (with the case, so a reused id is never mistaken): the
same for every student, and a page lists dozens"""


def call_html(case, name: str) -> str:
    """``<code>name(args)</code>`` for a case (``Case.call_text``), escaped."""
    known = _CALLS.get((id(case), name))
    if known is not None and known[0] is case:
        return known[1]
    if len(_CALLS) > 10_000:
        _CALLS.clear()
    made = f"<code>{text(case.call_text(name))}</code>"
    _CALLS[id(case), name] = (case, made)
    return made


def render(result: StudentResult, *, pictures: bool = True, hidden_feedback: str = "summary",
           instructor: bool = False) -> str:
    """The feedback page for one student.

    Args:
        result: the graded submission.
        pictures: draw a picture for each failing exercise (costs tens of milliseconds each,
            less when another student made the same mistake).
        hidden_feedback: ``"summary"``: of the hidden cases, show only how many passed and the
            hint; ``"full"``: show each one's inputs and what went wrong.
        instructor: the instructor's copy: every hidden case in full, whatever ``hidden_feedback``.
    """
    full = check_hidden_feedback(hidden_feedback) == "full" or instructor
    a = result.assignment
    by_name = {r.exercise.name: r for r in result.exercises}
    share = result.score / a.max_score if a.max_score else 0.0
    parts = ["<!doctype html>",
             "<html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<title>{text(a.id)} feedback for {text(result.student)}</title><style>{STYLE}</style></head><body>",
             f"<header><h1>{text(a.id)} — {text(a.title)}</h1>",
             f"<p class='score' id='score' data-score='{result.score:g}' data-max-score='{a.max_score:g}'>"
             f"{text(result.student)}: {result.score:g} / {a.max_score:g} points</p>",
             f"<div class='bar' role='img' aria-label='{share:.0%} of the points'>"
             f"<span style='width:{share:.1%}'></span></div></header>"]
    if instructor:
        parts.append("<p class='hint' id='instructor'><strong>Instructor's copy:</strong> every hidden case is "
                     "shown in full. The student's page shows only how many hidden cases passed, and the hint."
                     "</p>")
    if result.problem:
        parts.append(f"<section class='fail problem' id='problem'><h2>Nothing could be graded</h2>"
                     f"<p>{text(result.problem)}</p></section>")
    parts.append(_overview(result, by_name))
    for ex in a.exercises:
        r = by_name.get(ex.name)
        if r is not None:
            parts.append(_section(a.id, r, pictures=pictures, full=full))
    if result.notes:
        items = "".join(f"<li>{text(n)}</li>" for n in result.notes)
        parts.append(f"<section class='notes' id='notes'><h2>Notes</h2><ul>{items}</ul></section>")
    parts.append("<footer>Each function was called on public cases (the ones your self-check uses) and on "
                 "hidden ones, and its answers were compared with an equivalent Keras model. "
                 "When a function calls another graded function, it was graded with a correct version "
                 "of that one, so each mistake costs its points once.</footer></body></html>")
    return "\n".join(parts)


def _overview(result: StudentResult, by_name: dict[str, ExerciseResult]) -> str:
    rows = []
    for ex in result.assignment.exercises:
        r = by_name.get(ex.name)
        passed = bool(r and r.passed)
        score = r.score if r else 0.0
        mark = "<span class='mark-pass'>✔</span>" if passed else "<span class='mark-fail'>✘</span>"
        name = f"<a href='#ex-{text(ex.name)}'>{text(ex.name)}</a>" if r else text(ex.name)
        rows.append(f"<tr><td>{mark}</td><td><code>{name}</code></td><td>{score:g} / {ex.points:g}</td></tr>")
    return ("<table class='overview'><thead><tr><th></th><th>function</th><th>points</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _section(assignment_id: str, r: ExerciseResult, *, pictures: bool, full: bool) -> str:
    ex = r.exercise
    state = "pass" if r.passed else "fail"
    mark = "✔" if r.passed else "✘"
    parts = [f"<section class='exercise {state}' id='ex-{text(ex.name)}' data-exercise='{text(ex.name)}' "
             f"data-passed='{str(r.passed).lower()}'>",
             f"<h2><span class='mark-{state}'>{mark}</span> <code>{text(ex.name)}</code> — "
             f"{r.score:g} / {ex.points:g} points</h2>",
             f"<p class='summary'>{text(r.problem or _summary(r, full).split(' Hint: ')[0])}</p>"]
    if r.hint:
        parts.append(f"<p class='hint'><strong>Hint:</strong> {text(r.hint.message)}</p>")
    if pictures and not r.passed:
        uri = pictures_.picture(assignment_id, r)
        if uri:
            parts.append(f"<figure><img src='{uri}' alt='a picture of your {text(ex.name)} against Keras'>"
                         "<figcaption>Public cases only: your values against Keras's.</figcaption></figure>")
    if r.cases:
        parts.append(_cases(r, full=full))
    parts.append("</section>")
    return "".join(parts)


def _summary(r: ExerciseResult, full: bool) -> str:
    return student_summary(r, hidden_feedback="full" if full else "summary")


def _cases(r: ExerciseResult, *, full: bool) -> str:
    rows = []
    hidden = [c for c in r.cases if c.case.hidden]
    for c in r.cases:
        if c.case.hidden and not full:
            continue
        what = call_html(c.case, r.exercise.name)
        if c.case.label:
            what += f" <span class='label'>[{text(c.case.label)}]</span>"
        if c.case.hidden:
            what = f"<span class='label'>hidden:</span> {what}"
        mark = "<span class='mark-pass'>✔</span>" if c.passed else "<span class='mark-fail'>✘</span>"
        rows.append(f"<tr class='{'pass' if c.passed else 'fail'}'><td>{mark}</td><td>{what}</td>"
                    f"<td>{text(c.message)}</td></tr>")
    if hidden and not full:  # how many passed, never which inputs or what Keras answered
        n_hidden = sum(c.passed for c in hidden)
        state = "pass" if n_hidden == len(hidden) else "fail"
        rows.append(f"<tr class='{state} hidden-summary'><td><span class='mark-{state}'>"
                    f"{'✔' if state == 'pass' else '✘'}</span></td><td>hidden cases</td>"
                    f"<td>{n_hidden} of {len(hidden)} pass</td></tr>")
    n_pass = sum(c.passed for c in r.cases)
    return (f"<details{'' if r.passed else ' open'}><summary>{n_pass} of {len(r.cases)} cases pass</summary>"
            f"<table class='cases'>{''.join(rows)}</table></details>")
