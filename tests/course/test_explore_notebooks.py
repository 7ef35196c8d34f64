"""The A3 and A4 notebooks end by exploring the network just built; grading never starts it.

(That the whole notebooks still run headless, release and autograde is ``tests/test_notebooks.py``
and ``tests/grader/test_nbgrader_roundtrip.py``.)
"""
import ast

import nbformat
import pytest

from course import pretrained, source
from course.explore import Exploring
from grader.authoring.solutions import notebook_path


def last_code_cell(assignment_id) -> str:
    nb = nbformat.read(notebook_path(assignment_id), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"][-1]


@pytest.mark.parametrize("assignment_id", ["a3_network", "a4_digits"])
def test_the_explore_cell_is_skipped_by_the_grader(assignment_id):
    cell = last_code_cell(assignment_id)
    assert "course.explore(" in cell
    kept = source.definitions(cell).statements
    assert [type(stmt) for _, stmt in kept] == [ast.Import]  # `import course`; never the call


def run_cell(cell: str, namespace: dict):
    """Run a cell as Jupyter does: its last expression is the value it displays."""
    tree = ast.parse(cell)
    *body, last = tree.body
    exec(compile(ast.Module(body=body, type_ignores=[]), "<cell>", "exec"), namespace)
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)


def test_the_a3_cell_shows_the_network_it_read_from_keras(solution):
    namespace = {"model": pretrained.load(), "weights_from_keras": solution("a3_network")["weights_from_keras"]}
    shown = run_cell(last_code_cell("a3_network"), namespace)
    try:
        assert isinstance(shown, Exploring) and "<iframe" in shown._repr_html_()
        assert shown.server.explorer.network.sizes == [784, 16, 16, 10]
    finally:
        shown.stop()


def test_the_a4_cell_shows_the_keras_model_with_its_softmax_outputs(solution):
    model = solution("a4_digits")["build_model"]()
    shown = run_cell(last_code_cell("a4_digits"), {"model": model})
    try:
        assert shown.server.explorer.network.activations == ("sigmoid", "sigmoid", "softmax")
    finally:
        shown.stop()
