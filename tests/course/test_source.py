"""Tests for ``course.source``: notebooks turned into definitions, without a kernel."""
import json

import nbformat
import pytest

from course import source


def notebook(tmp_path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, path)
    return path


def test_keeps_definitions_and_skips_the_rest(tmp_path):
    path = notebook(tmp_path, "%matplotlib inline\nimport numpy as np\nK = 3\nprint('hi')",
                    "!pip install nothing\ndef f(x):\n    return x + K\nf(1)\nY = np.zeros(3)")
    namespace, notes = source.execute(source.load_definitions(path))
    assert namespace["f"](1) == 4 and "Y" not in namespace and not notes


def test_a_broken_cell_costs_only_itself(tmp_path):
    path = notebook(tmp_path, "def f(:\n    pass", "def g():\n    return 2")
    namespace, notes = source.execute(source.load_definitions(path))
    assert namespace["g"]() == 2 and "f" not in namespace
    assert notes and "code cell 1: syntax error" in notes[0]


def test_failing_import_is_noted_not_fatal(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("import not_a_module_xyz\ndef g():\n    return 1\n")
    namespace, notes = source.execute(source.load_definitions(path))
    assert namespace["g"]() == 1 and "ModuleNotFoundError" in notes[0]


@pytest.mark.parametrize("content, message", [
    ('{"cells": [ broken', "not a valid notebook"),
    (json.dumps({"nbformat": 4}), "no list of cells"),
    (b"\x00\x01binary", "binary file"),
    (b"\xff\xfe\xfa not utf8", "not UTF-8"),
])
def test_unreadable_files_say_why(tmp_path, content, message):
    path = tmp_path / ("a.ipynb" if isinstance(content, str) else "a.py")
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(source.SubmissionError, match=message):
        source.load_definitions(path)


@pytest.mark.parametrize("name, limit, message", [
    ("a.py", source.MAX_SOURCE_BYTES, "limited to"),
    ("a.ipynb", source.MAX_NOTEBOOK_BYTES, "clear its outputs"),  # what to do about a notebook's plots
])
def test_huge_file_is_refused_before_reading(tmp_path, name, limit, message):
    path = tmp_path / name
    with open(path, "wb") as f:
        f.truncate(limit + 1)
    with pytest.raises(source.SubmissionError, match=message):
        source.load_definitions(path)


def _notebook(path, code: str, outputs_bytes: int) -> None:
    """A notebook of one code cell whose saved output (a picture) takes about ``outputs_bytes``."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(code)
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR" + "A" * outputs_bytes})]
    nb.cells = [cell]
    nbformat.write(nb, str(path))


def test_a_notebook_heavy_with_outputs_is_read_and_its_code_kept(tmp_path):
    """Plots kept in the notebook are no reason to refuse it: only its code counts against the
    code limit, and the file may take up to ``MAX_NOTEBOOK_BYTES``."""
    path = tmp_path / "a.ipynb"
    _notebook(path, "def relu(z):\n    return z * (z > 0)\n", source.MAX_SOURCE_BYTES + 2**20)
    assert path.stat().st_size > source.MAX_SOURCE_BYTES
    defs = source.load_definitions(path)
    assert [stmt.name for _, stmt in defs.statements] == ["relu"] and not defs.notes


def test_a_notebook_of_more_code_than_a_py_file_may_hold_is_refused(tmp_path):
    path = tmp_path / "a.ipynb"
    _notebook(path, "x = 1\n" * (source.MAX_SOURCE_BYTES // 6 + 1), 0)
    with pytest.raises(source.SubmissionError, match="code cells hold"):
        source.load_definitions(path)
