"""Read NumPy's shape errors, so that a hint can recognise a mistake from the exception it raised.

A wrong shape often never gets as far as a wrong value: ``np.dot(w, a)`` on a batch of rows
raises ``ValueError: shapes (16,784) and (8,784) not aligned: ...``. ``shape_error(text)`` turns
such a message (as ``course.calls.Outcome.error`` carries it) into the shapes it names, which a
hint then reads together with the case's own input shapes. It knows the messages of NumPy 1.x and
2.x for ``np.dot``, ``@``/``np.matmul`` and broadcasting; anything else gives ``None``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_NOT_ALIGNED = re.compile(r"shapes (\([\d, ]*\)) and (\([\d, ]*\)) not aligned")
_BROADCAST = re.compile(r"could not be broadcast together with shapes ((?:\([\d, ]*\) ?)+)")
_MATMUL = re.compile(r"matmul: .*\(size (\d+) is different from (\d+)\)")
_MATMUL_0D = re.compile(r"matmul: Input operand \d does not have enough dimensions \(has 0")
_SHAPE = re.compile(r"\(([\d, ]*)\)")


@dataclass(frozen=True)
class ShapeError:
    """The shapes a NumPy ``ValueError`` complained about."""

    kind: str
    """``"not_aligned"`` (np.dot), ``"broadcast"`` (+, *), ``"matmul"`` (@) or ``"scalar_matmul"``
    (@ with a 0-d operand: a loop that went over the numbers of one example)"""
    shapes: tuple[tuple[int, ...], ...] = ()
    """the operands' shapes, where the message gives them (np.dot, broadcasting)"""
    sizes: tuple[int, ...] = ()
    """the two sizes that disagree, where only those are given (matmul)"""

    @property
    def dims(self) -> set[int]:
        """Every size the message mentions."""
        return {d for shape in self.shapes for d in shape} | set(self.sizes)


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(d) for d in text.replace(" ", "").split(",") if d)


def shape_error(error: str | None) -> ShapeError | None:
    """The shapes named by an exception's text ``"ValueError: ..."``, or None if it is not a shape error."""
    if not error or not error.startswith("ValueError"):
        return None
    if m := _NOT_ALIGNED.search(error):
        return ShapeError("not_aligned", (_shape(m.group(1)[1:-1]), _shape(m.group(2)[1:-1])))
    if m := _BROADCAST.search(error):
        return ShapeError("broadcast", tuple(_shape(s) for s in _SHAPE.findall(m.group(1))))
    if m := _MATMUL.search(error):
        return ShapeError("matmul", sizes=(int(m.group(1)), int(m.group(2))))
    if _MATMUL_0D.search(error):
        return ShapeError("scalar_matmul")
    return None
