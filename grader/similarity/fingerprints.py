"""What a document is compared by: winnowed fingerprints, function bodies and textual evidence.

Each student's document becomes a set of *features*, each tagged with the graded function it
lies in (or none):

- ``code``: copydetect's winnowed k-gram fingerprints of the tokenised code (names become
  ``V``/``F``, strings ``S``, comments and whitespace vanish), so renaming variables or
  re-spacing hides nothing; the template's k-grams are removed as boilerplate;
- ``body``: a graded function's syntax tree with its docstring dropped and its local names
  numbered in order of appearance (the same algorithm, whatever it was named), and
  ``named_body``: the same tree with the names kept;
- ``comment``, ``string``, ``name``: a comment's words, a string literal, an identifier, as
  written. A shared comment or an odd shared name is evidence a tokenizer throws away.

Anything also found in the released template is dropped. Which features are rare (and so
count) is decided over the whole class, in ``grader.similarity.scoring``.
"""
from __future__ import annotations

import ast
import bisect
import builtins
import io
import re
from dataclasses import dataclass, field

import numpy as np
from copydetect.detector import CodeFingerprint
from copydetect.utils import filter_code, hashed_kgrams
from pygments import lexers, token

from grader.similarity.sources import Source

K = 20
"""k-gram length in tokenised characters: about one short statement (``returnV.V(V,V)`` is 14)"""
WINDOW = 4
"""winnowing window: every run of K + WINDOW - 1 shared characters is sure to share a fingerprint"""
NO_FUNCTION = -1
_LEXER = lexers.get_lexer_by_name("python")
_WORD = re.compile(r"[A-Za-z]{2,}")
_KEEP = set(dir(builtins)) | {"np", "numpy", "self"}
"""names not renumbered in a ``body``: they mean the same thing in every submission"""


@dataclass
class Document:
    """One student's features and what is needed to show them."""

    source: Source
    fingerprint: CodeFingerprint
    """copydetect's view of the code (kept to highlight shared passages)"""
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
        kgrams = np.unique(hashed_kgrams(filtered, K)) if len(filtered) >= K else np.array([], dtype=np.int64)
        return cls(kgrams, frozenset(normal for _, normal, _, _ in _words(code)))


def _function_at(source: Source, names: tuple[str, ...]):
    """A function mapping character offsets in the code to graded-function indexes."""
    spans = sorted((start, end, names.index(name)) for name, (start, end) in source.functions.items())
    starts = [s for s, _, _ in spans]

    def at(offset: int) -> int:
        i = bisect.bisect_right(starts, offset) - 1
        return spans[i][2] if i >= 0 and offset < spans[i][1] else NO_FUNCTION
    return at


def _raw_offsets(fp: CodeFingerprint, idx: np.ndarray) -> np.ndarray:
    """Positions in the tokenised code -> positions in the raw code (as copydetect maps slices)."""
    if len(fp.offsets) == 0:
        return idx
    where = np.clip(np.searchsorted(fp.offsets[:, 0], idx), 0, fp.offsets.shape[0] - 1)
    return idx + fp.offsets[:, 1][where]


def _add(document: Document, kind: str, value, fn: int, shown: str | None = None) -> None:
    key = hash((kind, value))
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
        elif kind in token.Literal.String and kind not in token.Literal.String.Doc and len(value) > 3:
            yield "string", " ".join(value.split()), value.strip(), at
        elif kind in token.Name and value not in _KEEP and len(value) > 1:
            yield "name", value, value, at


def _evidence(document: Document, names: tuple[str, ...], template: Template) -> None:
    """Comments, strings and identifiers not in the template, each where it lies."""
    at = _function_at(document.source, names)
    for kind, normal, shown, offset in _words(document.source.code):
        if normal not in template.words and normal not in names:
            _add(document, kind, normal, at(offset), shown)


class _Renumber(ast.NodeTransformer):
    """Local names -> v0, v1, ... in order of appearance; docstrings dropped."""

    def __init__(self):
        self.names: dict[str, str] = {}

    def _new(self, name: str) -> str:
        return name if name in _KEEP else self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self._new(node.arg)
        node.annotation = None
        return node


def _without_docstring(fn: ast.FunctionDef) -> ast.FunctionDef:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:] or [ast.Pass()]
    fn.body = body
    return fn


def _bodies(document: Document, names: tuple[str, ...]) -> None:
    code = document.source.code
    for name, (start, end) in document.source.functions.items():
        try:
            fn = ast.parse(code[start:end]).body[-1]
        except (SyntaxError, ValueError, RecursionError, MemoryError, IndexError):
            continue
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        fn = _without_docstring(fn)
        index = names.index(name)
        _add(document, "named_body", (name, ast.dump(fn, annotate_fields=False)), index,
             f"{name}, identical")
        fn.name, fn.decorator_list, fn.returns = "f", [], None
        _add(document, "body", (name, ast.dump(_Renumber().visit(fn), annotate_fields=False)), index,
             f"{name}, same code but for names")


def document(source: Source, names: tuple[str, ...], template: Template) -> Document:
    """The features of one student's code.

    Args:
        source: the student's code and where its graded functions lie.
        names: the assignment's graded functions, in order (a feature's function is an index).
        template: what the students were given.
    """
    fp = CodeFingerprint("submission.py", K, WINDOW, boilerplate=template.kgrams,
                         fp=io.StringIO(source.code), language="python")
    doc = Document(source, fp)
    at = _function_at(source, names)
    for h, idx in fp.hash_idx.items():
        first = int(_raw_offsets(fp, np.array(idx[:1], dtype=np.int64))[0])
        _add(doc, "code", int(h), at(first))
    _evidence(doc, names, template)
    _bodies(doc, names)
    return doc
