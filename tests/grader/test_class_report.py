"""``<out>/report.html`` and ``<out>/grades.csv`` after ``grader grade``: what instructors take away."""
import base64
import csv
import html
import os
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import unquote_to_bytes

import pytest

from course import exercises
from grader.authoring import samples
from grader.reports import class_report

from .conftest import QUOTED_NAME, UNDECODABLE_NAME


class Report(HTMLParser):
    """Element attributes by id, and the rows of the tables."""

    def __init__(self, text):
        super().__init__()
        self.ids, self.rows, self.images, self._table = {}, {}, [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] = attrs
        if tag == "table":
            self._table = attrs.get("id")
            self.rows[self._table] = []
        elif tag == "tr" and self._table and len(attrs):
            self.rows[self._table].append(attrs)
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None


def read_grades(out):
    raw = (out / "grades.csv").read_bytes()
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return raw, list(csv.reader(f))


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_grades_csv_is_ready_for_an_lms(graded_class, assignment_id):
    graded = graded_class(assignment_id)
    assignment = exercises.assignment(assignment_id)
    raw, rows = read_grades(graded.out)
    assert not raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark: the first column must be called 'student'"
    raw.decode("utf-8")  # strict: the whole file is valid UTF-8
    header, *body = rows
    assert header == ["student", "score", "max_score", *assignment.names]
    assert all(len(r) == len(header) for r in body)
    students = [r[0] for r in body]
    readable = {s.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for s in graded.expected}
    assert sorted(students) == sorted(readable) and len(students) == len(graded.expected)
    assert QUOTED_NAME in students, "commas, quotes and <> survive the round trip"
    assert os.fsdecode(UNDECODABLE_NAME).encode("utf-8", "surrogateescape").decode("utf-8", "replace") in students
    for row in body:
        values = dict(zip(header, row))
        per_function = [float(values[n]) for n in assignment.names]
        assert float(values["score"]) == sum(per_function)
        assert float(values["max_score"]) == assignment.max_score


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_report_counts_students_pass_rates_and_hints(graded_class, assignment_id):
    graded = graded_class(assignment_id)
    assignment = exercises.assignment(assignment_id)
    report = Report((graded.out / "report.html").read_text(encoding="utf-8"))
    _, (header, *body) = read_grades(graded.out)
    assert int(report.ids["stats"]["data-students"]) == len(body)

    rates = {r["data-exercise"]: float(r["data-pass-rate"]) for r in report.rows["pass-rates"]}
    assert list(rates) == list(assignment.names)
    col = {name: header.index(name) for name in assignment.names}
    for ex in assignment.exercises:
        passed = sum(float(r[col[ex.name]]) == ex.points for r in body)
        assert rates[ex.name] == pytest.approx(passed / len(body), abs=1e-4)

    expected_hints = Counter(m.hint for m in samples.MISTAKES.get(assignment_id, {}).values() if m.hint)
    if graded.quoted_mistake:  # QUOTED_NAME made the same mistake again
        expected_hints[samples.MISTAKES[assignment_id][graded.quoted_mistake].hint] += 1
    shown = [r["data-hint"] for r in report.rows.get("hints", [])]
    assert set(shown) == set(expected_hints)
    if expected_hints:
        assert shown[0] == expected_hints.most_common(1)[0][0], "most common first"

    unreadable = (graded.out / "report.html").read_text(encoding="utf-8").split("id='unreadable'>")[1]
    assert "malformed_notebook" in unreadable and "empty_folder" in unreadable

    (histogram,) = report.images
    data = base64.b64decode(histogram.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_survives_an_empty_class_and_unreadable_results():
    assignment = exercises.assignment(exercises.IDS[0])
    page = class_report.render([None, {"not": "a result"}], assignment)
    report = Report(page)
    assert report.ids["stats"]["data-students"] == "1"
    empty = Report(class_report.render([], assignment))
    assert empty.ids["stats"]["data-students"] == "0" and not empty.images


def test_report_links_each_student_to_their_feedback(graded_class):
    """Links are percent-encoded file names, so even a non-UTF-8 folder name opens its page."""
    graded = graded_class(exercises.IDS[0])
    text = (graded.out / "report.html").read_text(encoding="utf-8")
    links = {html.unescape(part.split("'")[0]) for part in text.split("href='feedback/")[1:]}
    assert len(links) == len(graded.expected)
    for link in links:
        assert (graded.out / "feedback" / os.fsdecode(unquote_to_bytes(link))).is_file(), link
