"""Plain-text summaries printed at the end of a command."""
from __future__ import annotations

from course import exercises


def printable(text: str) -> str:
    """``text`` for a terminal: a control character (a student folder's name may hold an escape
    sequence that recolours or retitles the terminal, or a bell) is shown as its escape, ``\\x1b``."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def table(headers: list[str], rows: list[list[str]]) -> str:
    rows = [[printable(str(cell)) for cell in row] for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def summary_table(summary, assignment_id: str, max_rows: int = 40) -> str:
    names = exercises.assignment(assignment_id).names
    rows = [[r["student"], f"{r['score']}/{r['max_score']}", *[r[n] for n in names]]
            for r in summary.rows[:max_rows]]
    text = table(["student", "score", *names], rows)
    if len(summary.rows) > max_rows:
        text += f"\n… and {len(summary.rows) - max_rows} more students (see grades.csv)"
    return text


def class_summary(summary, assignment_id: str, slowest: int = 5) -> str:
    """The class at a glance: mean and median score, each exercise's pass rate, the slowest submissions."""
    assignment = exercises.assignment(assignment_id)
    rows = [r for r in summary.rows if r["score"] != ""]  # a grader fault has no score
    if not rows:
        return "no students graded"
    scores = sorted(float(r["score"]) for r in rows)
    mid = len(scores) // 2
    median = scores[mid] if len(scores) % 2 else (scores[mid - 1] + scores[mid]) / 2
    text = [f"{len(rows)} students: mean {sum(scores) / len(scores):.2f}, median {median:g} "
            f"(out of {assignment.max_score:g})", ""]
    passing = [[ex.name, f"{ex.points:g}",
                f"{100 * sum(float(r[ex.name]) == ex.points for r in rows) / len(rows):.0f}%"]
               for ex in assignment.exercises]
    text.append(table(["exercise", "points", "pass rate"], passing))
    times = sorted(summary.seconds_by_student.items(), key=lambda kv: -kv[1])[:slowest]
    if times:
        text += ["", table(["slowest submission", "seconds"], [[s, f"{t:.2f}"] for s, t in times])]
    return "\n".join(text)
