"""``grader similarity``: a planted copy ranks first, canonical answers don't, and the files it writes.

The class is written by hand: eight students who all wrote the canonical one-liners (laid out
differently), four who wrote their own way, and one who copied one of those four into a
notebook, renaming every variable and rewording the comments.
"""
import csv
import re
from html.parser import HTMLParser

import nbformat
import pytest

from course import exercises
from grader.reports import class_report
from grader.similarity import sources

from .conftest import grade_cli

CANONICAL = {
    "quadratic_logistic_parameters": "return n + n * (n + 1) // 2 + 1",
    "weighted_sum": "return float(np.dot(w, a))",
    "weighted_input": "return weighted_sum(a, w) + b",
    "sigmoid": "return 1 / (1 + np.exp(-z))",
    "relu": "return np.maximum(0, z)",
    "neuron": "return sigmoid(weighted_input(a, w, b))",
    "fires": "return weighted_input(a, w, -threshold) > 0",
    "edge_detector": "mask = np.zeros((28, 28))\nmask[top:top + height, left:left + width] = 1\nreturn mask.ravel()",
}
OWN_WAY = [
    {"weighted_sum": "total = 0.0\nfor act, weight in zip(a, w):\n    total += act * weight  # accumulate each pixel\n"
                     "return total",
     "sigmoid": "# split the signs so exp never sees a big positive number\nzz = np.asarray(z, dtype=float)\n"
                "pos = np.exp(-np.abs(zz))\nreturn np.where(zz >= 0, 1 / (1 + pos), pos / (1 + pos))",
     "edge_detector": "picture = np.zeros(784).reshape(28, 28)\nfor row in range(top, top + height):\n"
                      "    picture[row, left:left + width] = 1.0  # paint one row of the box\n"
                      "return picture.flatten()"},
    {"weighted_sum": "return float(sum(x * y for x, y in zip(w, a)))",
     "relu": "out = np.array(z, dtype=float, copy=True)\nout[out < 0] = 0  # zero the negatives\nreturn out",
     "fires": "threshold_ok = weighted_sum(a, w) > threshold\nreturn bool(threshold_ok)"},
    {"sigmoid": "return np.exp(-np.logaddexp(0, -z))",
     "neuron": "zed = weighted_input(a, w, b)\nactivation_value = sigmoid(zed)  # squash it\nreturn activation_value",
     "edge_detector": "grid = np.zeros((28, 28))\ngrid[top:top+height, left:left+width] = np.ones((height, width))\n"
                      "return grid.reshape(784)"},
    {"weighted_input": "zsum = np.dot(w, a)\nzsum = zsum + b  # bias shifts the threshold, says the lesson\n"
                       "return float(zsum)",
     "relu": "return np.where(z > 0, z, 0.0)",
     "fires": "return bool(np.dot(w, a) - threshold > 0.0)"},
]
COPIED = 0
"""the student of OWN_WAY who was copied"""
RENAMES = {"total": "acc", "act": "ai", "weight": "wi", "zz": "arr", "pos": "e", "picture": "img", "row": "r"}


def own(i: int) -> dict[str, str]:
    return {**CANONICAL, **OWN_WAY[i]}


def disguised(bodies: dict[str, str]) -> dict[str, str]:
    """The copier's version: every local renamed, the comments reworded."""
    out = {}
    for name, body in bodies.items():
        for old, new in RENAMES.items():
            body = re.sub(rf"\b{old}\b", new, body)
        out[name] = body.replace("# accumulate each pixel", "# add them up").replace(
            "# paint one row of the box", "# fill this row")
    return out


def program(bodies: dict[str, str], *, spacing: int = 1) -> str:
    blank = "\n" * (spacing + 1)
    names = exercises.assignment("a1_neuron")
    parts = ["import numpy as np"]
    for ex in names.exercises:
        args = {"quadratic_logistic_parameters": "n", "weighted_sum": "a, w", "weighted_input": "a, w, b", "sigmoid": "z", "relu": "z",
                "neuron": "a, w, b", "fires": "a, w, threshold", "edge_detector": "top, left, height, width"}[ex.name]
        body = "\n".join("    " + line for line in bodies[ex.name].split("\n"))
        parts.append(f"def {ex.name}({args}):\n{body}")
    return blank.join(parts) + "\n"


def notebook(bodies: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with each stub filled in (its docstrings, self-checks and magics kept)."""
    nb = nbformat.read(sources.ASSIGNMENTS / "a1_neuron" / "a1_neuron.ipynb", as_version=4)
    for cell in nb.cells:
        for name, body in bodies.items():
            if cell.cell_type == "code" and f"def {name}(" in cell.source:
                filled = "\n".join("    " + line for line in body.split("\n"))
                cell.source = cell.source.replace("    # YOUR CODE HERE\n    raise NotImplementedError()", filled)
    return nb


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    students = {f"canon{i}": program(CANONICAL, spacing=1 + i % 3) for i in range(8)}
    students.update({f"own{i}": program(own(i)) for i in range(len(OWN_WAY))})
    for student, text in students.items():
        (root / "class" / student).mkdir(parents=True)
        (root / "class" / student / "a1_neuron.py").write_text(text)
    (root / "class" / "copier").mkdir()
    nbformat.write(notebook(disguised(own(COPIED))), root / "class" / "copier" / "a1_neuron.ipynb")
    for stub in ("stub_a", "stub_b"):  # handed in the template untouched
        (root / "class" / stub).mkdir()
        nbformat.write(notebook({}), root / "class" / stub / "a1_neuron.ipynb")
    out = root / "out"
    class_report.write(out / "report.html", [], exercises.assignment("a1_neuron"))  # as `grader grade` leaves it
    proc = grade_cli("similarity", "a1_neuron", str(root / "class"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    with open(out / "similarity.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return root, out, rows, proc.stdout


def pair(row) -> set[str]:
    return {row["student_a"], row["student_b"]}


def test_the_planted_copy_ranks_first(klass):
    _, _, rows, stdout = klass
    assert pair(rows[0]) == {f"own{COPIED}", "copier"}, rows[:3]
    assert float(rows[0]["score"]) >= 0.5
    assert "weighted_sum" in rows[0]["shared_functions"].split()  # its loop, renamed, is still its loop
    assert "copier" in stdout.splitlines()[0]


def test_canonical_only_pairs_rank_low(klass):
    _, _, rows, _ = klass
    top = float(rows[0]["score"])
    for rank, row in enumerate(rows):
        if pair(row) <= {f"canon{i}" for i in range(8)} | {f"own{i}" for i in range(len(OWN_WAY)) if i != COPIED}:
            assert rank >= 1 and float(row["score"]) < 0.25 * top, row


def test_the_template_is_no_evidence(klass):
    _, _, rows, _ = klass
    assert not [r for r in rows if "stub_a" in pair(r) or "stub_b" in pair(r)], "the template shares nothing rare"


def test_notebooks_are_read_without_template_cells_or_magics(klass):
    root, _, _, _ = klass
    read = sources.read_class("a1_neuron", root / "class", exercises.assignment("a1_neuron").names)
    copier = next(s for s in read if s.student == "copier")
    assert copier.path.suffix == ".ipynb" and "for ai, wi in zip(a, w):" in copier.code
    assert "%matplotlib" not in copier.code and 'check("sigmoid", sigmoid)' not in copier.code
    assert set(copier.functions) == set(CANONICAL)
    start, end = copier.functions["relu"]
    assert copier.code[start:end].startswith("def relu(z):") and "np.maximum(0, z)" in copier.code[start:end]
    stub = next(s for s in read if s.student == "stub_a")
    assert stub.code == "" and not stub.problem  # every cell is the template's


def test_csv_header_and_order(klass):
    _, out, rows, _ = klass
    with open(out / "similarity.csv", encoding="utf-8") as f:
        assert f.readline().startswith("student_a,student_b,score,")
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


class Links(HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.links, self.ids, self.marks = [], set(), 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs["href"]] if tag == "a" and "href" in attrs else []
        self.ids |= {attrs["id"]} if "id" in attrs else set()
        self.marks += tag == "mark"


def test_pages_show_the_pair_side_by_side_and_the_class_report_links_them(klass):
    _, out, rows, _ = klass
    first = out / rows[0]["page"]
    page = Links(first.read_text(encoding="utf-8"))
    assert {"a", "b", "evidence", "functions", "score"} <= page.ids and page.marks >= 2
    assert "# split the signs so exp never sees a big positive number" in first.read_text(encoding="utf-8")
    index = Links((out / "similarity" / "index.html").read_text(encoding="utf-8"))
    pages = [r["page"] for r in rows if r["page"]]
    assert [f"similarity/{link}" for link in index.links if link.endswith(".html")] == pages
    assert all((out / p).is_file() for p in pages)
    report = Links((out / "report.html").read_text(encoding="utf-8"))
    assert "similarity" in report.ids and class_report.SIMILARITY in report.links


def test_bad_command_lines_exit_2_with_a_clear_message(tmp_path):
    proc = grade_cli("similarity", "a1_neuron", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    proc = grade_cli("similarity", "a9", str(tmp_path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "unknown assignment" in proc.stderr


def test_an_output_folder_inside_the_class_folder_is_no_student(tmp_path):
    from grader import similarity
    from grader.authoring import samples

    samples.synthetic_class("a1_neuron", tmp_path / "class", 3)
    for _ in range(2):  # the second run finds the first one's output in the class folder
        summary = similarity.run("a1_neuron", tmp_path / "class", tmp_path / "class" / "report")
        assert summary.students == 3
