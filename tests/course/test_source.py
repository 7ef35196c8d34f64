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


def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "a.py"
    with open(path, "wb") as f:
        f.truncate(source.MAX_SOURCE_BYTES + 1)
    with pytest.raises(source.SubmissionError, match="limited to"):
        source.load_definitions(path)
