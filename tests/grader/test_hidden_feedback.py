"""Hidden cases stay hidden: ``--hidden-feedback {summary,full}`` for feedback pages and results JSON.

A result is built by hand (a public case and hidden cases whose inputs, labels and Keras answers
are distinctive strings), rendered both ways, and searched for those strings; then the real
``grader grade`` is run on a student whose mistake only the hidden cases catch.
"""
import json
import re

import pytest

from course import exercises
from course.exercises.base import Case
from course.judge import CaseResult, ExerciseResult
from grader.authoring import samples
from grader.grading.results import StudentResult, student_summary
from grader.reports import feedback

from .conftest import grade_cli

SECRET_INPUT = 987.125
SECRET_LABEL = "the secret saturating probe"
SECRET_ANSWER = "expected 0.31415926, got 0.5"


def hand_made_result(*, public_passes: bool = True) -> StudentResult:
    a = exercises.assignment("a1_neuron")
    ex = a["sigmoid"]
    hint = next(h for h in ex.hints if h.name == "sign_flipped")
    public = CaseResult(Case((0.0,), label="z = 0"), public_passes, "" if public_passes else "expected 0.5, got 0.7")
    hidden = [CaseResult(Case((SECRET_INPUT,), label=SECRET_LABEL, hidden=True), False, SECRET_ANSWER, hint),
              CaseResult(Case((1.0,), label="another hidden case", hidden=True), True)]
    others = [ExerciseResult(e, [CaseResult(Case((0.0,)), True)]) for e in a.exercises if e.name != "sigmoid"]
    return StudentResult("ada", a, [ExerciseResult(ex, [public, *hidden]), *others])


def secrets_in(text: str) -> list[str]:
    return [s for s in (repr(SECRET_INPUT), SECRET_LABEL, SECRET_ANSWER) if s in text]


def test_summary_page_shows_public_cases_the_hidden_count_and_the_hint_only():
    result = hand_made_result()
    page = feedback.render(result, pictures=False)  # summary is the default
    assert secrets_in(page) == []
    assert "hidden cases" in page and "1 of 2 pass" in page
    assert "sigmoid(0.0)" in page  # the public case, in full
    assert "the curve is mirrored" in page  # the named hint
    assert "Instructor" not in page


@pytest.mark.parametrize("how", ["full", "instructor"])
def test_full_and_instructor_pages_show_every_hidden_case(how):
    result = hand_made_result()
    page = (feedback.render(result, pictures=False, hidden_feedback="full") if how == "full"
            else feedback.render(result, pictures=False, instructor=True))
    assert secrets_in(page) == [repr(SECRET_INPUT), SECRET_LABEL, SECRET_ANSWER]
    assert ("Instructor's copy" in page) == (how == "instructor")


def test_summary_json_hides_the_details_until_the_due_date():
    saved = StudentResult.to_gradescope(hand_made_result())
    visible = [t for t in saved["tests"] if t["visibility"] == "visible"]
    later = [t for t in saved["tests"] if t["visibility"] == "after_due_date"]
    assert [t["name"] for t in visible] == list(exercises.assignment("a1_neuron").names)
    assert secrets_in(json.dumps(visible)) == [] and secrets_in(saved["output"]) == []
    sigmoid = next(t for t in visible if t["name"] == "sigmoid")
    assert sigmoid["output"] == ("All 1 public cases pass; 1 of 2 hidden cases pass. Hint: the curve is "
                                 "mirrored: use e^(-z), not e^(z).")
    assert sigmoid["extra_data"]["hint"] == "sign_flipped" and sigmoid["score"] == 0
    details = next(t for t in later if t["name"] == "sigmoid: hidden cases")
    assert secrets_in(details["output"]) == [repr(SECRET_INPUT), SECRET_LABEL, SECRET_ANSWER]
    assert details["score"] == details["max_score"] == 0 and details["status"] == "failed"
    assert saved["extra_data"]["hidden_feedback"] == "summary"


def test_full_json_shows_everything_and_adds_no_tests():
    saved = hand_made_result().to_gradescope(hidden_feedback="full")
    assert {t["visibility"] for t in saved["tests"]} == {"visible"}
    assert len(saved["tests"]) == len(exercises.assignment("a1_neuron").names)
    assert SECRET_ANSWER in next(t for t in saved["tests"] if t["name"] == "sigmoid")["output"]


def test_a_failing_public_case_is_shown_in_full_with_the_hidden_count():
    r = hand_made_result(public_passes=False).exercises[0]
    text = student_summary(r)
    assert text.startswith("0 of 1 cases pass. sigmoid(0.0) [z = 0]: expected 0.5, got 0.7. 1 of 2 hidden cases pass.")
    assert secrets_in(text) == []


def test_an_unknown_setting_is_refused_by_name():
    with pytest.raises(ValueError, match="hidden_feedback should be one of summary, full; received 'some'"):
        hand_made_result().to_gradescope(hidden_feedback="some")


@pytest.mark.parametrize("setting", ["summary", "full"])
def test_grader_grade_keeps_hidden_cases_hidden_unless_told(tmp_path, setting):
    """``fires`` with ``>=`` passes every public case; only the hidden "sum exactly at the threshold" catches it."""
    wrong = "def fires(a, w, threshold):\n    return bool(weighted_sum(a, w) >= threshold)\n"
    samples.write_py(tmp_path / "class" / "ada", "a1_neuron", {"fires": wrong})
    out = tmp_path / "out"
    proc = grade_cli("grade", "a1_neuron", str(tmp_path / "class"), "--out", str(out), "--no-pictures",
                     "--hidden-feedback", setting)
    assert proc.returncode == 0, proc.stderr
    saved = json.loads((out / "results" / "ada.json").read_text())
    fires = next(t for t in saved["tests"] if t["name"] == "fires")
    page = (out / "feedback" / "ada.html").read_text()
    label = "sum exactly at the threshold"
    assert fires["status"] == "failed" and "use &gt;, not &gt;=" in page
    if setting == "summary":
        assert label not in fires["output"] and label not in page
        assert re.match(r"All \d+ public cases pass; \d+ of \d+ hidden cases pass\. Hint: .*use >, not >=",
                        fires["output"]), fires["output"]
        details = next(t for t in saved["tests"] if t["name"] == "fires: hidden cases")
        assert details["visibility"] == "after_due_date" and label in details["output"]
        assert label in (out / "instructor" / "ada.html").read_text()
    else:
        assert "hidden case (weighted sum exactly 0, threshold 0)" in fires["output"] and label in page
        assert not (out / "instructor").exists()
        assert all(t["visibility"] == "visible" for t in saved["tests"])
