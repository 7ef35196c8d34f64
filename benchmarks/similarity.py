"""How well ``grader similarity`` finds planted copies, against a naive whole-file baseline.

    .venv/bin/python benchmarks/similarity.py [--students 1000] [--per-level 8] [--seed 0]

One run builds a synthetic A1 class from independently written variants of each function
(several genuinely different correct versions of each, plus the mistakes ``course.exercises``
names), each student a random combination with their own local names, comments, docstrings,
blank lines and file format (a ``.py`` or the released notebook filled in); one student in
twenty-five wrote every canonical one-liner with the lesson's names and nothing else. Then
``--per-level`` copies are planted at each level of disguise, each level adding to the last:

1. verbatim;  2. comments and whitespace changed;  3. and every local variable renamed;
4. and the functions reordered;  5. and dead code inserted in every function;
6. (on its own) only two of the seven functions copied, into an otherwise honest submission.

Both methods rank every pair of the class: ours (``grader similarity``, run as the real command)
and the baseline, copydetect's winnowed fingerprints compared whole file against whole file,
``|A ∩ B| / min(|A|, |B|)``, with the template removed as boilerplate but no discount for what
the class shares. For K = the number of planted pairs, it prints precision among the top K, the
recall of each level within the top K, and where the first pair of canonical-only students
ranks; then the CPU and wall time of each.
"""
from __future__ import annotations

import argparse
import csv
import copy
import io
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat
import numpy as np
from copydetect.detector import CodeFingerprint

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course import exercises  # noqa: E402
from grader.similarity import fingerprints, sources  # noqa: E402

ARGS = {"weighted_sum": "a, w", "weighted_input": "a, w, b", "sigmoid": "z", "relu": "z",
        "neuron": "a, w, b", "fires": "a, w, threshold", "edge_detector": "top, left, height, width"}

# Each function: correct variants first (variant 0 is the canonical one-liner), then the named
# mistakes of course/exercises/a1_neuron.py. {braces} are local names, drawn per student.
CORRECT = {
    "weighted_sum": [
        "return float(np.dot(w, a))",
        "return np.dot(a, w)",
        "return float(np.sum(w * a))",
        "{acc} = 0.0\nfor {x}, {y} in zip(a, w):\n    {acc} += {x} * {y}\nreturn {acc}",
        "{acc} = 0\nfor {i} in range(len(a)):\n    {acc} = {acc} + a[{i}] * w[{i}]\nreturn float({acc})",
        "return float(a @ w)",
        "return sum({x} * {y} for {x}, {y} in zip(a, w))",
    ],
    "weighted_input": [
        "return weighted_sum(a, w) + b",
        "{acc} = weighted_sum(a, w)\nreturn {acc} + b",
        "return float(np.dot(w, a) + b)",
        "{acc} = b\nfor {x}, {y} in zip(a, w):\n    {acc} += {x} * {y}\nreturn {acc}",
        "return b + weighted_sum(a, w)",
    ],
    "sigmoid": [
        "return 1 / (1 + np.exp(-z))",
        "return np.exp(-np.logaddexp(0, -z))",
        "{v} = np.asarray(z, dtype=float)\n{e} = np.exp(-np.abs({v}))\n"
        "return np.where({v} >= 0, 1 / (1 + {e}), {e} / (1 + {e}))",
        "return 0.5 * (1 + np.tanh(z / 2))",
        "{v} = np.clip(z, -500, 500)\nreturn 1.0 / (1.0 + np.exp(-{v}))",
        "return 1 / (1 + np.exp(-np.clip(z, -700, 700)))",
    ],
    "relu": [
        "return np.maximum(0, z)",
        "return np.where(z > 0, z, 0)",
        "{out} = np.array(z, dtype=float)\n{out}[{out} < 0] = 0\nreturn {out}",
        "return z * (z > 0)",
        "return np.clip(z, 0, None)",
        "return (np.abs(z) + z) / 2",
    ],
    "neuron": [
        "return sigmoid(weighted_input(a, w, b))",
        "{v} = weighted_input(a, w, b)\nreturn sigmoid({v})",
        "return sigmoid(weighted_sum(a, w) + b)",
        "{v} = np.dot(w, a) + b\n{out} = sigmoid({v})\nreturn float({out})",
        "return float(sigmoid(np.dot(a, w) + b))",
    ],
    "fires": [
        "return weighted_input(a, w, -threshold) > 0",
        "return bool(weighted_sum(a, w) > threshold)",
        "{v} = -threshold\nreturn weighted_input(a, w, {v}) > 0",
        "if weighted_sum(a, w) > threshold:\n    return True\nreturn False",
        "return bool(np.dot(w, a) - threshold > 0)",
    ],
    "edge_detector": [
        "{m} = np.zeros((28, 28))\n{m}[top:top + height, left:left + width] = 1\nreturn {m}.ravel()",
        "{m} = np.zeros(784)\nfor {i} in range(top, top + height):\n    for {j} in range(left, left + width):\n"
        "        {m}[{i} * 28 + {j}] = 1.0\nreturn {m}",
        "{m} = np.zeros((28, 28))\n{m}[top:top + height, left:left + width] = np.ones((height, width))\n"
        "return {m}.reshape(784)",
        "{x} = (np.arange(28) >= top) & (np.arange(28) < top + height)\n"
        "{y} = (np.arange(28) >= left) & (np.arange(28) < left + width)\n"
        "return np.outer({x}, {y}).astype(float).ravel()",
        "{m} = np.zeros((28, 28))\nfor {i} in range(top, top + height):\n    {m}[{i}, left:left + width] = 1.0\n"
        "return {m}.flatten()",
    ],
}
MISTAKES = {
    "weighted_sum": {"not_summed": "return a * w", "ignored_weights": "return float(np.sum(a))"},
    "weighted_input": {"forgot_bias": "return weighted_sum(a, w)", "bias_subtracted": "return weighted_sum(a, w) - b"},
    "sigmoid": {"used_tanh": "return np.tanh(z)", "sign_flipped": "return 1 / (1 + np.exp(z))",
                "step_function": "return (np.asarray(z) > 0) * 1.0"},
    "relu": {"clipped_at_one": "return np.clip(z, 0, 1)", "used_minimum": "return np.minimum(0, z)",
             "returned_mask": "return (z > 0) * 1.0", "max_of_array": "return max(0, np.max(z))"},
    "neuron": {"forgot_sigmoid": "return weighted_input(a, w, b)", "forgot_bias": "return sigmoid(weighted_sum(a, w))",
               "bias_subtracted": "return sigmoid(weighted_sum(a, w) - b)",
               "used_relu": "return relu(weighted_input(a, w, b))"},
    "fires": {"threshold_sign_flipped": "return weighted_input(a, w, threshold) > 0",
              "greater_or_equal": "return weighted_sum(a, w) >= threshold"},
    "edge_detector": {
        "region_transposed": "{m} = np.zeros((28, 28))\n{m}[left:left + width, top:top + height] = 1\n"
                             "return {m}.ravel()",
        "inclusive_end": "{m} = np.zeros((28, 28))\n{m}[top:top + height + 1, left:left + width + 1] = 1\n"
                         "return {m}.ravel()",
        "not_flattened": "{m} = np.zeros((28, 28))\n{m}[top:top + height, left:left + width] = 1\nreturn {m}"},
}
VARIANTS = {name: CORRECT[name] + list(MISTAKES[name].values()) for name in CORRECT}
for _name in VARIANTS:  # every named mistake of the assignment is in the bank
    assert set(MISTAKES[_name]) <= {h.name for h in exercises.assignment("a1_neuron")[_name].hints}, _name
NAMES = {"acc": ["total", "s", "acc", "result", "summed", "weighted", "running", "tot"],
         "x": ["ai", "x", "act", "p", "av", "activation"], "y": ["wi", "y", "weight", "q", "wv", "wt"],
         "i": ["i", "r", "row", "k", "idx"], "j": ["j", "c", "col", "n", "jdx"],
         "v": ["zz", "z2", "arr", "value", "zed", "inp"], "e": ["e", "ez", "expz", "t", "ex"],
         "out": ["out", "res", "y", "output", "ret", "r"], "m": ["mask", "img", "grid", "weights", "canvas", "m"]}
VERBS = ["compute", "get", "work out", "calculate", "find", "return", "take"]
OBJECTS = {"weighted_sum": ["the weighted sum", "the dot product", "sum of w times a", "the total input"],
           "weighted_input": ["z", "the weighted input", "w.a plus b", "the pre-activation"],
           "sigmoid": ["the sigmoid", "the squashed value", "the logistic function", "sigma of z"],
           "relu": ["the relu", "max of zero and z", "the rectified value", "the positive part"],
           "neuron": ["the activation", "the neuron output", "sigmoid of z", "the firing strength"],
           "fires": ["whether it fires", "the decision", "if above threshold", "the boolean"],
           "edge_detector": ["the mask", "the region weights", "the box of ones", "the detector"]}
TAILS = ["", " here", " first", " (see lesson)", " like in class", " step by step", " carefully"]
DEAD = ["_debug = False", "unused = 0", "if False:\n    print('checking')", "tmp = None", "_ = len(str(0))",
        "counter = 0\ncounter += 1"]
LEVELS = ["verbatim", "comments+whitespace", "renamed", "reordered", "dead code", "2 of 7 functions"]
ORDER = tuple(CORRECT)


@dataclass
class Part:
    """One function as a student wrote it."""

    variant: int
    names: dict[str, str]
    comment: str | None
    docstring: str | None
    dead: str | None = None


@dataclass
class Student:
    parts: dict[str, Part]
    order: tuple[str, ...] = ORDER
    blank: int = 1
    notebook: bool = False
    indent: str = "    "
    header: str = "import numpy as np"
    extra: list[str] = field(default_factory=list)


def _names(rng: random.Random, avoid: dict[str, str] | None = None) -> dict[str, str]:
    out = {}
    for slot, pool in NAMES.items():
        choices = [n for n in pool if not avoid or n != avoid.get(slot)]
        out[slot] = rng.choice(choices)
    return out


def _comment(rng: random.Random, name: str) -> str | None:
    if rng.random() < 0.5:
        return None
    return f"# {rng.choice(VERBS)} {rng.choice(OBJECTS[name])}{rng.choice(TAILS)}"


def _variant(rng: random.Random, name: str) -> int:
    r = rng.random()
    if r < 0.35:
        return 0
    if r < 0.9:
        return rng.randrange(1, len(CORRECT[name]))
    return rng.randrange(len(CORRECT[name]), len(VARIANTS[name]))


def honest(rng: random.Random) -> Student:
    parts = {}
    for name in ORDER:
        doc = rng.choice([None, None, f'"""{rng.choice(VERBS).capitalize()} {rng.choice(OBJECTS[name])}."""'])
        parts[name] = Part(_variant(rng, name), _names(rng), _comment(rng, name), doc)
    return Student(parts, blank=rng.choice([1, 2]), notebook=rng.random() < 0.3,
                   indent=rng.choice(["    ", "    ", "  "]),
                   header=rng.choice(["import numpy as np", "import numpy as np\nimport math"]))


def canonical() -> Student:
    """The lesson's one-liners and names, nothing else."""
    parts = {name: Part(0, {slot: pool[0] for slot, pool in NAMES.items()}, None, None) for name in ORDER}
    return Student(parts)


def disguise(rng: random.Random, source: Student, level: int) -> Student:
    """A copy of ``source`` at ``level`` (an index of LEVELS)."""
    if level == 5:  # only two functions copied, into an honest submission
        twin = honest(rng)
        for name in rng.sample(ORDER, 2):
            twin.parts[name] = replace(source.parts[name])
        return twin
    twin = replace(source, parts={n: replace(p, names=dict(p.names)) for n, p in source.parts.items()},
                   notebook=rng.random() < 0.3)
    if level >= 1:
        twin.blank = 3 - source.blank
        twin.indent = "  " if source.indent == "    " else "    "
        for name, p in twin.parts.items():
            old = p.comment
            while p.comment == old:  # reworded, dropped or added
                p.comment = _comment(rng, name)
    if level >= 2:
        for p in twin.parts.values():
            p.names = _names(rng, avoid=p.names)
    if level >= 3:
        order = list(ORDER)
        while tuple(order) == ORDER:
            rng.shuffle(order)
        twin.order = tuple(order)
    if level >= 4:
        for p in twin.parts.values():
            p.dead = rng.choice(DEAD)
    return twin


def body(name: str, part: Part, indent: str) -> str:
    lines = []
    if part.docstring:
        lines.append(part.docstring)
    if part.dead:
        lines += part.dead.split("\n")
    if part.comment:
        lines.append(part.comment)
    lines += VARIANTS[name][part.variant].format(**part.names).split("\n")
    return "\n".join(indent + line.replace("    ", indent) for line in lines)


def function(name: str, part: Part, indent: str) -> str:
    return f"def {name}({ARGS[name]}):\n{body(name, part, indent)}"


def write(student: Student, folder: Path, template: nbformat.NotebookNode) -> None:
    folder.mkdir(parents=True)
    if not student.notebook:
        parts = [student.header] + [function(n, student.parts[n], student.indent) for n in student.order]
        (folder / "a1_neuron.py").write_text(("\n" * (student.blank + 1)).join(parts) + "\n")
        return
    nb = copy.deepcopy(template)
    slots = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(f"def {n}(" in c.source for n in ORDER)]
    for i, name in zip(slots, student.order):  # the functions' cells, in the student's order
        nb.cells[i].source = function(name, student.parts[name], student.indent)
    nbformat.write(nb, folder / "a1_neuron.ipynb")


def make_class(root: Path, n: int, per_level: int, seed: int) -> tuple[set, list[set], set]:
    """Write the class; returns (planted pairs, planted pairs per level, canonical students)."""
    rng = random.Random(seed)
    template = nbformat.read(sources.ASSIGNMENTS / "a1_neuron" / "a1_neuron.ipynb", as_version=4)
    planted_n = per_level * len(LEVELS)
    n_canonical = max(2, n // 25)
    students = {f"s{i:04d}": honest(rng) for i in range(n - planted_n - n_canonical)}
    canon = {f"c{i:03d}" for i in range(n_canonical)}
    students.update({s: canonical() for s in canon})
    honest_names = sorted(s for s in students if s not in canon)
    sources_ = rng.sample(honest_names, planted_n)
    by_level: list[set] = [set() for _ in LEVELS]
    for k, src in enumerate(sources_):
        level = k // per_level
        name = f"p{k:03d}"
        students[name] = disguise(rng, students[src], level)
        by_level[level].add(frozenset((src, name)))
    names = list(students)
    rng.shuffle(names)
    for student in names:
        write(students[student], root / student, template)
    return set().union(*by_level), by_level, canon


def ours(root: Path, out: Path) -> tuple[list[frozenset], float, float]:
    """Run the real command; returns (pairs most similar first, CPU s, wall s)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "similarity", "a1_neuron", str(root), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, proc.stderr
    with open(out / "similarity.csv", newline="") as f:
        ranked = [frozenset((r["student_a"], r["student_b"])) for r in csv.DictReader(f)]
    return ranked, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), wall


def baseline(root: Path) -> tuple[list[frozenset], float, float]:
    """copydetect's whole-file fingerprint overlap, |A ∩ B| / min(|A|, |B|), every pair."""
    start, cpu = time.perf_counter(), time.process_time()
    names = exercises.assignment("a1_neuron").names
    read = [s for s in sources.read_class("a1_neuron", root, names) if not s.problem]
    template = fingerprints.Template.of(sources.template_cells("a1_neuron"))
    docs = [CodeFingerprint("submission.py", fingerprints.K, fingerprints.WINDOW, boilerplate=template.kgrams,
                            fp=io.StringIO(s.code), language="python").hashes for s in read]
    index = {h: i for i, h in enumerate(set().union(*docs))}
    x = np.zeros((len(docs), len(index)), dtype=np.float32)
    for row, hashes in enumerate(docs):
        x[row, [index[h] for h in hashes]] = 1.0
    shared = x @ x.T
    sizes = x.sum(axis=1)
    sim = shared / np.maximum(np.minimum.outer(sizes, sizes), 1.0)
    a, b = np.triu_indices(len(docs), 1)
    shuffled = np.random.default_rng(0).permutation(len(a))  # ties (identical files) in no favoured order
    a, b = a[shuffled], b[shuffled]
    order = np.argsort(-sim[a, b], kind="stable")
    ranked = [frozenset((read[a[k]].student, read[b[k]].student)) for k in order]
    return ranked, time.process_time() - cpu, time.perf_counter() - start


def evaluate(ranked: list[frozenset], planted: set, by_level: list[set], canon: set) -> dict:
    k = len(planted)
    top = set(ranked[:k])
    first_canonical = next((i + 1 for i, p in enumerate(ranked) if p <= canon), None)
    return {"precision": len(top & planted) / k,
            "recall": [len(top & level) / len(level) for level in by_level],
            "canonical": first_canonical, "k": k}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=1000)
    p.add_argument("--per-level", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="similarity-bench-") as tmp:
        root = Path(tmp, "class")
        planted, by_level, canon = make_class(root, args.students, args.per_level, args.seed)
        kinds = sorted(p.suffix for p in root.glob("*/a1_neuron.*"))
        print(f"{args.students} students ({kinds.count('.ipynb')} notebooks), {len(planted)} planted pairs "
              f"({args.per_level} per level), {len(canon)} canonical-only students; K = {len(planted)}")
        results = {"grader similarity": ours(root, Path(tmp, "out")),
                   "baseline: copydetect whole file": baseline(root)}
    header = ["method", "precision@K", *LEVELS, "first canonical pair", "CPU s", "wall s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for method, (ranked, cpu, wall) in results.items():
        e = evaluate(ranked, planted, by_level, canon)
        rank = f"#{e['canonical']}" if e["canonical"] else "not ranked"
        print(f"| {method} | {e['precision']:.2f} | " + " | ".join(f"{r:.2f}" for r in e["recall"])
              + f" | {rank} | {cpu:.1f} | {wall:.1f} |")
    (_, cpu_ours, _), (_, cpu_base, _) = results.values()
    print(f"CPU time, ours / baseline: {cpu_ours / cpu_base:.2f} (ours is the whole command, reading included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
