"""Plain-text summaries printed at the end of a command."""
from __future__ import annotations

from course import exercises


def table(headers: list[str], rows: list[list[str]]) -> str:
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
