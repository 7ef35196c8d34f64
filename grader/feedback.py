"""``feedback/<student>.html``: what a student reads after grading, one section per exercise."""
from __future__ import annotations

import html

from grader.results import StudentResult

STYLE = """
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem} .score{font-size:1.2rem;font-weight:600}
section{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;margin:.8rem 0}
section.pass{border-left:6px solid #2a9d4b} section.fail{border-left:6px solid #d64545}
.hint{background:#fff7e0;padding:.4rem .6rem;border-radius:4px} code{background:#f4f4f4;padding:0 .2rem}
"""


def render(result: StudentResult) -> str:
    a = result.assignment
    e = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>{e(a.title)}: feedback for {e(result.student)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{e(a.id)} — {e(a.title)}</h1>",
             f"<p class='score'>{e(result.student)}: {result.score:g} / {a.max_score:g} points</p>"]
    if result.problem:
        parts.append(f"<section class='fail'><h2>Nothing could be graded</h2><p>{e(result.problem)}</p></section>")
    by_name = {r.exercise.name: r for r in result.exercises}
    for ex in a.exercises:
        r = by_name.get(ex.name)
        if r is None:
            continue
        cls = "pass" if r.passed else "fail"
        mark = "✔" if r.passed else "✘"
        parts.append(f"<section class='{cls}' id='{e(ex.name)}'><h2>{mark} <code>{e(ex.name)}</code> "
                     f"— {r.score:g} / {ex.points:g}</h2><p>{e(r.problem or _first_message(r))}</p>")
        if r.hint:
            parts.append(f"<p class='hint'>Hint: {e(r.hint.message)}</p>")
        parts.append("</section>")
    if result.notes:
        items = "".join(f"<li>{e(n)}</li>" for n in result.notes)
        parts.append(f"<section><h2>Notes</h2><ul>{items}</ul></section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _first_message(r) -> str:
    return r.summary().split(" Hint: ")[0]
