"""Does the trusted side only ever read a submission's outputs as data, never as code?

Returned values cross from the sandbox as ``course.codec`` bytes (tested in ``test_corpus`` with
pickle bombs and forged frames). Model files are the other way code could sneak in: a ``.keras``
file with a Lambda layer runs Python when loaded unsafely. ``corpus.keras_lambda_artifact`` puts
such a file in a submission and proves the run never loads it in the parent; this test keeps the
parent-side source free of any loader that could. A4 reads ``digits.keras`` in the sandbox with
``course.kerasfile`` (zip, JSON and HDF5 readers, never Keras's loader), and
``tests/grader/test_grade_a4.py`` grades the Lambda model as an A4 submission: 0, its code never run.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNSAFE = re.compile(r"\b(?:c?pickle|cloudpickle|dill|marshal|joblib|shelve)\.loads?\b|allow_pickle\s*=\s*True"
                    r"|\bload_model\s*\(|keras\.saving\.load|torch\.load|safe_mode\s*=\s*False")
CHILD_SIDE = {"grader/sandbox/runner.py"}
"""run in the sandboxed child, where loading a submission's model with ``safe_mode=True`` would be
allowed (the A4 adapters in ``course/models.py`` no longer load any: they are checked like the rest)"""
OWN_FILES = {"grader/authoring/sample_models.py"}
"""make and measure the sample models of the demo and tests: files the grader trained itself"""
OWN_MODEL = re.compile(r"\bpretrained\.KERAS_PATH\b|\bload_model\(KERAS_PATH\)")
"""the course's own pre-trained model, a constant path inside the package: never a submission"""


def trusted_sources():
    for package in ("course", "grader"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in CHILD_SIDE | OWN_FILES:
                yield rel, path.read_text()


@pytest.mark.parametrize("line", [
    "model = keras.models.load_model(path)", "pickle.loads(data)", "np.load(f, allow_pickle=True)",
    "keras.saving.load_model(p, safe_mode=False)", "cloudpickle.load(f)",
])
def test_the_check_recognises_unsafe_loaders(line):
    assert UNSAFE.search(line)


def test_no_trusted_code_can_deserialize_code_from_a_submission():
    found = [f"{rel}:{n}: {line.strip()}" for rel, text in trusted_sources()
             for n, line in enumerate(text.splitlines(), 1) if UNSAFE.search(line) and not OWN_MODEL.search(line)
             and not line.lstrip().startswith("#")]
    assert found == []


def test_safe_mode_is_never_switched_off_even_in_the_sandbox():
    text = (ROOT / "grader" / "sandbox" / "runner.py").read_text()
    assert not re.search(r"safe_mode\s*=\s*False|allow_pickle\s*=\s*True", text)
