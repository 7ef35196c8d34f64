"""What a document is compared by: winnowed fingerprints, function bodies and textual evidence.

Each student's document becomes a set of *features*, each tagged with the graded function it
lies in (or none):

- ``code``: copydetect's winnowed k-gram fingerprints of the tokenised code (names become
  ``V``/``F``, strings ``S``, comments and whitespace vanish), so renaming variables or
  re-spacing hides nothing; the template's k-grams are removed as boilerplate;
- ``body``: a graded function's syntax tree without its docstring and dead code, its local
  names numbered in order of appearance (the same algorithm, whatever it was named; see
  ``bodies``), and ``named_body``: the same tree with the names kept;
- ``combination``: two or three graded functions' ``body``s together. Each way of writing a
  small function may be common, but which ways a student chose for every pair and triple of
  functions is not: a renamed, reordered copy shares all of them, two honest students only those
  of the few functions they happened to write alike;
- ``comment``, ``string``, ``name``: a comment's words, a string literal, an identifier, as
  written. A shared comment or an odd shared name is evidence a tokenizer throws away.

Anything also found in the released template is dropped. Which features are rare (and so
count) is decided over the whole class, in ``grader.similarity.scoring``.
"""
from __future__ import annotations

import ast
import bisect
import hashlib
import itertools
import re
from dataclasses import dataclass, field

import numpy as np
from copydetect.utils import filter_code, get_copied_slices, winnow
from pygments import lexers, token

from grader.similarity import bodies
from grader.similarity.bodies import KEEP
from grader.similarity.sources import Source

K = 20
"""k-gram length in tokenised characters: about one short statement (``returnV.V(V,V)`` is 14)"""
WINDOW = 4
"""winnowing window: every run of K + WINDOW - 1 shared characters is sure to share a fingerprint"""
NO_FUNCTION = -1
COMBINATIONS = (2, 3)
"""a ``combination`` feature for every pair and every triple of graded functions (21 + 35 for A1)"""
_LEXER = lexers.get_lexer_by_name("python")
_WORD = re.compile(r"[A-Za-z]{2,}")


def kgram_hashes(filtered: str, k: int = K) -> np.ndarray:
    """A hash of every k-gram of the tokenised code, the same in every process.

    copydetect's ``hashed_kgrams`` uses Python's ``hash``, which changes from run to run (and so
    would the fingerprints winnowing picks, and the ranking); this is a polynomial hash, mixed, in
    52 bits (copydetect's winnowing compares hashes as floats).
    """
    codes = np.frombuffer(filtered.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(k):  # (n,) ; uint64 arithmetic wraps around, as a hash should
        h = h * np.uint64(1_000_003) + codes[j:j + n]
    h ^= h >> np.uint64(31)
    h *= np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(29)
    return (h & np.uint64((1 << 52) - 1)).astype(np.int64)


@dataclass
class Winnowed:
    """copydetect's view of a document: tokenised (names -> ``V``, comments and spaces dropped),
    its k-grams hashed and winnowed, the template's k-grams removed."""

    raw_code: str
    offsets: np.ndarray
    """copydetect's map from positions in the tokenised code to the raw code"""
    hash_idx: dict[int, list[int]]
    """fingerprint -> where it starts in the tokenised code"""

    @classmethod
    def of(cls, code: str, boilerplate: np.ndarray) -> "Winnowed":
        filtered, offsets = filter_code(code, "submission.py", "python")
        hashes = kgram_hashes(filtered)
        found: dict[int, list[int]] = {}
        if len(hashes):
            hashes, idx = winnow(hashes, WINDOW, remove_duplicates=False)
            keep = ~np.isin(hashes, boilerplate)
            for h, i in zip(hashes[keep].tolist(), idx[keep].tolist()):
                found.setdefault(h, []).append(i)
        return cls(code, offsets, found)

    def raw(self, idx: np.ndarray) -> np.ndarray:
        """Positions in the tokenised code -> positions in the raw code (as copydetect maps slices)."""
        if len(self.offsets) == 0:
            return idx
        where = np.clip(np.searchsorted(self.offsets[:, 0], idx), 0, self.offsets.shape[0] - 1)
        return idx + self.offsets[:, 1][where]

    def slices(self, hashes) -> np.ndarray:
        """(2, n) starts and ends in the raw code of the passages these fingerprints cover."""
        idx = [i for h in hashes for i in self.hash_idx.get(h, [])]
        if not idx:
            return np.zeros((2, 0), dtype=np.int64)
        return self.raw(np.asarray(get_copied_slices(np.array(idx, dtype=np.int64), K), dtype=np.int64))


@dataclass
class Document:
    """One student's features and what is needed to show them."""

    source: Source
    fingerprint: Winnowed
    """the winnowed code (kept to highlight shared passages)"""
    features: dict[int, tuple[str, int]] = field(default_factory=dict)
    """feature key -> (kind, index of the graded function it lies in, or NO_FUNCTION)"""
    shown: dict[int, str] = field(default_factory=dict)
    """feature key -> the text to show as evidence (comments, strings, names, function names)"""


@dataclass(frozen=True)
class Template:
    """What every student was given, never evidence."""

    kgrams: np.ndarray
    """every k-gram hash of the tokenised template (copydetect's boilerplate)"""
    words: frozenset[str]
    """its comments, strings and names, normalised as the features are"""

    @classmethod
    def of(cls, cells: list[str]) -> "Template":
        code = "\n\n".join(cells)
        filtered, _ = filter_code(code, "template.py", "python")
        return cls(np.unique(kgram_hashes(filtered)), frozenset(normal for _, normal, _, _ in _words(code)))


def _function_at(source: Source, names: tuple[str, ...]):
    """A function mapping character offsets in the code to graded-function indexes."""
    spans = sorted((start, end, names.index(name)) for name, (start, end) in source.functions.items())
    starts = [s for s, _, _ in spans]

    def at(offset: int) -> int:
        i = bisect.bisect_right(starts, offset) - 1
        return spans[i][2] if i >= 0 and offset < spans[i][1] else NO_FUNCTION
    return at


def feature_key(kind: str, value) -> int:
    """A feature's key, the same in every process (so is the ranking)."""
    return int.from_bytes(hashlib.blake2b(repr((kind, value)).encode(), digest_size=8).digest(), "little", signed=True)


def _add(document: Document, kind: str, value, fn: int, shown: str | None = None) -> None:
    key = feature_key(kind, value)
    if key not in document.features:
        document.features[key] = (kind, fn)
        if shown is not None:
            document.shown[key] = shown


def _words(code: str):
    """(kind, normalised text, text as written, offset) for each comment, string and identifier."""
    offset = 0
    for kind, value in _LEXER.get_tokens(code):
        at = offset
        offset += len(value)
        if kind in token.Comment:
            words = " ".join(_WORD.findall(value.lower()))
            if len(words) >= 8:  # "# z" or "# ok" is no evidence
                yield "comment", words, value.strip(), at
        elif kind in token.Literal.String and len(value) > 3:  # docstrings too: the template's are skipped
            yield "string", " ".join(value.split()), value.strip(), at
        elif kind in token.Name and value not in KEEP and len(value) > 1:
            yield "name", value, value, at


def _evidence(document: Document, names: tuple[str, ...], template: Template) -> None:
    """Comments, strings and identifiers not in the template, each where it lies."""
    at = _function_at(document.source, names)
    for kind, normal, shown, offset in _words(document.source.code):
        if normal not in template.words and normal not in names:
            _add(document, kind, normal, at(offset), shown)


def _bodies(document: Document, names: tuple[str, ...]) -> None:
    """Each graded function's normalised body, and each pair of them (see the module docstring)."""
    code = document.source.code
    keep = KEEP | set(names)
    renumbered = {}
    for name, (start, end) in document.source.functions.items():
        try:
            fn = ast.parse(code[start:end]).body[-1]
        except (SyntaxError, ValueError, RecursionError, MemoryError, IndexError):
            continue
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        named, renumbered[name] = bodies.normalise(fn, keep)
        index = names.index(name)
        _add(document, "named_body", (name, named), index, f"{name}, identical")
        _add(document, "body", (name, renumbered[name]), index, f"{name}, same code but for names")
    for size in COMBINATIONS:
        for group in itertools.combinations(sorted(renumbered, key=names.index), size):
            _add(document, "combination", tuple((f, renumbered[f]) for f in group), NO_FUNCTION,
                 f"{' and '.join(group)}: all the same code but for names")


def document(source: Source, names: tuple[str, ...], template: Template) -> Document:
    """The features of one student's code.

    Args:
        source: the student's code and where its graded functions lie.
        names: the assignment's graded functions, in order (a feature's function is an index).
        template: what the students were given.
    """
    fp = Winnowed.of(source.code, template.kgrams)
    doc = Document(source, fp)
    at = _function_at(source, names)
    firsts = fp.raw(np.array([idx[0] for idx in fp.hash_idx.values()], dtype=np.int64)).tolist()
    for h, first in zip(fp.hash_idx, firsts):
        _add(doc, "code", h, at(first))
    _evidence(doc, names, template)
    _bodies(doc, names)
    return doc
