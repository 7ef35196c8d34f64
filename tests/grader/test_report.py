"""Tests for ``grader.reports.report``: the class summary ``grader grade`` prints at the end."""
from grader.grading.grade import Summary
from grader.reports.report import class_summary


def row(student, ws, sig, total):
    return {"student": student, "score": f"{total:g}", "max_score": "11", "quadratic_logistic_parameters": "1",
            "weighted_sum": f"{ws:g}",
            "weighted_input": "1", "sigmoid": f"{sig:g}", "relu": "1", "neuron": "2", "fires": "1",
            "edge_detector": "2"}


def test_class_summary_gives_mean_median_pass_rates_and_the_slowest():
    summary = Summary(rows=[row("ada", 1, 2, 11), row("ben", 0, 2, 10), row("cy", 1, 0, 9), row("di", 0, 0, 8)],
                      seconds_by_student={"ada": 0.01, "ben": 2.5, "cy": 0.02, "di": 0.5})
    text = class_summary(summary, "a1_neuron", slowest=2)
    assert "4 students: mean 9.50, median 9.5 (out of 11)" in text
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert lines["weighted_sum"][-1] == "50%" and lines["sigmoid"][-1] == "50%" and lines["relu"][-1] == "100%"
    assert lines["quadratic_logistic_parameters"][-1] == "100%"
    slowest = text.split("slowest submission")[1]
    assert slowest.index("ben") < slowest.index("di") and "ada" not in slowest
