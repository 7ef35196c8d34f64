"""``grader similarity <assignment> <submissions-dir> --out <dir>``: which submissions are suspiciously alike.

Every student writes the same seven small functions from the same template, so canonical answers
look identical once names are normalised; a naive tool flags half the class. Here each document
(``sources``) becomes fingerprints, function bodies and textual evidence (``fingerprints``,
built on copydetect's tokenizer and winnowing), pairs are scored by the material they share that
few others in the class have, per file and per graded function (``scoring``), and the ranked
pairs are written with a side-by-side page each (``report``). When ``<dir>`` is also the
``grader grade`` output, its class report links the results.

Nothing is run: the code is only read. A high score is a reason to look, never proof.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from course import exercises
from grader.similarity import fingerprints, report, scoring, sources


@dataclass
class Summary:
    students: int
    compared: int
    """students whose code could be read"""
    pairs: list[tuple[str, str, float]]
    """the reported pairs (student_a, student_b, score), most similar first"""
    seconds: float
    linked: bool
    """whether a ``grader grade`` class report in the same folder now links the results"""


def run(assignment_id: str, submissions_dir: str | os.PathLike, out: str | os.PathLike, *,
        pages: int = 50, common: float = scoring.COMMON) -> Summary:
    """Compare every pair of submissions and write the report into ``out``.

    Args:
        assignment_id: e.g. ``"a1_neuron"``.
        submissions_dir: one folder per student, as ``grader grade`` accepts.
        out: folder for ``similarity.csv`` and ``similarity/``.
        pages: how many of the most similar pairs get a page.
        common: share of the class above which shared material counts for nothing.

    Raises:
        KeyError: unknown assignment. NotADirectoryError: no such submissions folder.
    """
    start = time.perf_counter()
    names = exercises.assignment(assignment_id).names
    out = Path(out)
    read = sources.read_class(assignment_id, submissions_dir, names, exclude=(out,))
    template = fingerprints.Template.of(sources.template_cells(assignment_id))
    documents = [fingerprints.document(s, names, template) for s in read if not s.problem]
    scores = scoring.score(documents, len(names), common=common)
    from grader.grading.results import writing_into
    from grader.reports import class_report

    with writing_into(out):  # nor a `grader grade` into the same folder, whose report this links
        (out / "similarity").mkdir(parents=True, exist_ok=True)
        pages = min(pages, len(scores.pairs))
        report.write_csv(out / "similarity.csv", scores, documents, names, pages)
        for rank, pair in enumerate(scores.pairs[:pages], start=1):
            report.write_page(out / report.page_name(rank), rank, scores, pair, documents, names)
        report.write_index(out / "similarity" / "index.html", assignment_id, scores, documents, names, pages,
                           [(s.student, s.problem) for s in read if s.problem])
        linked = class_report.refresh(out, exercises.assignment(assignment_id), [s.student for s in read])
    top = [(documents[p.a].source.student, documents[p.b].source.student, p.score) for p in scores.pairs[:pages]]
    return Summary(len(read), len(documents), top, time.perf_counter() - start, linked)
