"""Tests for ``grader.report``: the class summary ``grader grade`` prints at the end."""
from grader.grade import Summary
from grader.report import class_summary


def row(student, ws, sig, total):
    return {"student": student, "score": f"{total:g}", "max_score": "10", "weighted_sum": f"{ws:g}",
            "weighted_input": "1", "sigmoid": f"{sig:g}", "relu": "1", "neuron": "2", "fires": "1",
            "edge_detector": "2"}


def test_class_summary_gives_mean_median_pass_rates_and_the_slowest():
    summary = Summary(rows=[row("ada", 1, 2, 10), row("ben", 0, 2, 9), row("cy", 1, 0, 8), row("di", 0, 0, 7)],
                      seconds_by_student={"ada": 0.01, "ben": 2.5, "cy": 0.02, "di": 0.5})
    text = class_summary(summary, "a1_neuron", slowest=2)
    assert "4 students: mean 8.50, median 8.5 (out of 10)" in text
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert lines["weighted_sum"][-1] == "50%" and lines["sigmoid"][-1] == "50%" and lines["relu"][-1] == "100%"
    slowest = text.split("slowest submission")[1]
    assert slowest.index("ben") < slowest.index("di") and "ada" not in slowest
