"""Score every pair of students by the *rare* material they share, per file and per function.

A feature (fingerprint, function body, comment, string, name; see ``fingerprints``) found in
more than ``common`` of the class (at least ``min_common`` students) counts for nothing, as
MOSS's ``-m`` does: every student writes ``return 1 / (1 + np.exp(-z))``, so it tells nothing.
Below that, a feature weighs its kind's weight times how rare it is, from 1 (two students share
it) down to 0 (as common as the cut-off), on a log scale. A pair's similarity is the weight it
shares over the smaller of the two students' weights (how much of the one is found in the other,
0 to 1: padding a copy with dead code or extra cells does not dilute it), with a pseudo-weight
``SMOOTHING`` in the denominator so that one coincidence between two nearly empty submissions
does not read as a copy. It is computed for the whole file and for each graded function, where
a function whose body is the same but for names is at least as similar as that body is rare. The
pair's score is the file's similarity, or the square of its *second* most similar function's when
that is larger: two functions copied out of seven show, one coincidence does not, and small
functions share a comment by chance often enough that only a strong pair should outrank the file.
(Chosen on ``benchmarks/similarity.py``, seed 0; cosine and unsquared variants ranked worse.)

Only pairs that share some rare feature are ever formed (through an inverted index), so a class
of 1,000 costs seconds, not the 500,000 comparisons of all pairs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from grader.similarity.fingerprints import NO_FUNCTION, Document

KIND_WEIGHT = {"code": 1.0, "body": 3.0, "named_body": 3.0, "combination": 1.0, "comment": 3.0, "string": 2.0,
               "name": 1.0}
"""a shared free-text comment or a whole identical function says more than one shared k-gram"""
COMMON = 0.05
"""share of the class above which a feature counts for nothing"""
MIN_COMMON = 4
"""...but in a small class, a feature shared by this many students may still count"""
SMOOTHING = 2.0
"""pseudo-weight added to each similarity's denominator"""


@dataclass
class Pair:
    a: int
    b: int
    """indexes of the two documents, a < b"""
    score: float
    file: float
    """similarity of the whole files"""
    functions: np.ndarray
    """(n_functions,) similarity of each graded function"""


@dataclass
class Scores:
    pairs: list[Pair]
    """every pair sharing some rare feature, most similar first"""
    weight: dict[int, float]
    """feature key -> weight (0 for common features)"""
    cutoff: float
    """features shared by more students than this count for nothing"""

    def shared(self, pair: Pair, documents: list[Document]) -> list[int]:
        """Keys of the rare features both documents of ``pair`` have, heaviest first."""
        a, b = documents[pair.a].features, documents[pair.b].features
        keys = [k for k in a.keys() & b.keys() if self.weight.get(k, 0.0) > 0]
        return sorted(keys, key=lambda k: -self.weight[k])


def rarity(df: np.ndarray, cutoff: float) -> np.ndarray:
    """1 for a feature two students share (or one has), falling to 0 at ``cutoff`` students."""
    top = math.log(cutoff + 1)
    return np.clip((top - np.log(np.maximum(df, 2))) / (top - math.log(2)), 0.0, 1.0)


def score(documents: list[Document], n_functions: int, *, common: float = COMMON,
          min_common: int = MIN_COMMON) -> Scores:
    """Score the pairs of ``documents``; see the module docstring."""
    n = len(documents)
    cutoff = max(common * n, float(min_common))
    doc_of, key_of, fn_of, kind_w, body = [], [], [], [], []
    for i, d in enumerate(documents):
        for key, (kind, fn) in d.features.items():
            doc_of.append(i)
            key_of.append(key)
            fn_of.append(fn)
            kind_w.append(KIND_WEIGHT[kind])
            body.append(kind == "body")
    doc_of = np.array(doc_of, dtype=np.int64)
    fn_of = np.array(fn_of, dtype=np.int64)
    keys, inverse, df = np.unique(np.array(key_of, dtype=np.int64), return_inverse=True, return_counts=True)
    rare = rarity(df, cutoff)[inverse]
    w = np.array(kind_w) * rare  # one weight per (document, feature)

    totals = np.bincount(doc_of, w, minlength=n)
    fn_totals = np.zeros((n, n_functions))
    inside = fn_of != NO_FUNCTION
    np.add.at(fn_totals, (doc_of[inside], fn_of[inside]), w[inside])

    pair_keys, pair_fn, pair_w, pair_body = _shared(doc_of, fn_of, w, np.where(body, rare, 0.0), inverse, df,
                                                    cutoff, n)
    pairs = _pairs(pair_keys, pair_fn, pair_w, pair_body, totals, fn_totals, n, n_functions)
    key_w = np.zeros(len(keys))
    key_w[inverse] = w  # every document holding a feature gives it the same weight
    return Scores(pairs, dict(zip(keys.tolist(), key_w.tolist())), cutoff)


def _shared(doc_of, fn_of, w, body, inverse, df, cutoff, n):
    """(pair key a*n+b, function or NO_FUNCTION, weight, rarity if it is a function's whole ``body``)
    for each rare feature two documents share."""
    order = np.argsort(inverse, kind="stable")  # postings: documents grouped by feature
    counts = df[inverse[order]]
    out_keys, out_fn, out_w, out_body = [], [], [], []
    for size in np.unique(df):
        if size < 2 or size > cutoff:
            continue
        rows = order[counts == size].reshape(-1, size)  # (features of this size, size)
        docs, fns, weights, bodies = doc_of[rows], fn_of[rows], w[rows[:, 0]], body[rows[:, 0]]
        if not weights.any():
            continue
        i, j = np.triu_indices(size, 1)
        a, b = docs[:, i], docs[:, j]  # (features, pairs) ; documents sorted, so a < b
        fa, fb = fns[:, i], fns[:, j]
        out_keys.append((a * n + b).ravel())
        out_fn.append(np.where(fa == fb, fa, NO_FUNCTION).ravel())
        out_w.append(np.repeat(weights, len(i)))
        out_body.append(np.repeat(bodies, len(i)))
    if not out_keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    return np.concatenate(out_keys), np.concatenate(out_fn), np.concatenate(out_w), np.concatenate(out_body)


def _pairs(pair_keys, pair_fn, pair_w, pair_body, totals, fn_totals, n, n_functions) -> list[Pair]:
    unique, inv = np.unique(pair_keys, return_inverse=True)
    shared = np.bincount(inv, pair_w, minlength=len(unique))
    inside = pair_fn != NO_FUNCTION
    fn_shared = np.bincount(inv[inside] * n_functions + pair_fn[inside], pair_w[inside],
                            minlength=len(unique) * n_functions).reshape(len(unique), n_functions)
    a, b = unique // n, unique % n
    file = shared / (np.minimum(totals[a], totals[b]) + SMOOTHING)
    same_body = np.zeros_like(fn_shared)  # the same function but for names: as rare as that body is
    np.maximum.at(same_body, (inv[inside], pair_fn[inside]), pair_body[inside])
    fn = np.maximum(fn_shared / (np.minimum(fn_totals[a], fn_totals[b]) + SMOOTHING), same_body)
    second = np.sort(fn, axis=1)[:, -2] if n_functions >= 2 else np.zeros(len(unique))
    scores = np.clip(np.maximum(file, second ** 2), 0.0, 1.0)
    order = np.lexsort((b, a, -scores))
    return [Pair(int(a[k]), int(b[k]), float(scores[k]), float(file[k]), fn[k]) for k in order
            if scores[k] > 0]
