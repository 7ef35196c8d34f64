"""Length-prefixed frames on pipes, and the server's reply envelope.

Every message between the parent, the fork server and a sandboxed child is one frame: an 8-byte
big-endian length, then that many bytes. The server's reply to a ``grade`` request is an
*envelope*: a JSON header written by the server (statuses, timings, output tail) followed by
the child's raw frames, which only the trusted parent decodes (``course.codec``, never pickle).
"""
from __future__ import annotations

import json
import os
import struct

HEADER = struct.Struct(">Q")


def pack(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


def read_exact(stream, size: int) -> bytes:
    """``size`` bytes from a (possibly unbuffered) binary stream; fewer only at end of stream."""
    data = stream.read(size)
    if data is None or len(data) == size:
        return data or b""
    parts = [data]
    got = len(data)
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def read_frame(stream) -> bytes | None:
    """The next frame's payload from a binary stream, or None at end of stream."""
    head = read_exact(stream, HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    payload = read_exact(stream, size)
    return payload if len(payload) == size else None


def write_frame(stream, payload: bytes) -> None:
    """Write one frame to a binary stream, buffered or not (a raw write may be partial)."""
    view = memoryview(HEADER.pack(len(payload)) + payload)
    while view:
        written = stream.write(view)
        view = view[written if written is not None else len(view):]
    stream.flush()


def write_fd(fd: int, payload: bytes) -> None:
    """Write one frame to a raw file descriptor (a pipe), however many writes it takes."""
    view = memoryview(pack(payload))
    while view:
        view = view[os.write(fd, view):]


class FrameReader:
    """Cut frames out of bytes arriving in pieces (a child's pipe read with ``os.read``)."""

    def __init__(self, max_size: int):
        self.buffer = bytearray()
        self.max_size = max_size

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk

    def next(self) -> bytes | None:
        """The next complete frame, or None if it hasn't all arrived.

        Raises:
            OverflowError: the frame announces more than ``max_size`` bytes.
        """
        if len(self.buffer) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self.buffer)
        if size > self.max_size:
            raise OverflowError(size)
        end = HEADER.size + size
        if len(self.buffer) < end:
            return None
        frame = bytes(self.buffer[HEADER.size:end])
        del self.buffer[:end]
        return frame

    def pending(self) -> int:
        """Bytes of the current, incomplete frame announced or received so far."""
        if len(self.buffer) < HEADER.size:
            return len(self.buffer)
        return max(len(self.buffer), HEADER.size + HEADER.unpack_from(self.buffer)[0])


def pack_envelope(meta: dict, blobs: list[bytes]) -> bytes:
    """``meta`` (JSON-able, written by the server) followed by ``blobs`` (the child's frames)."""
    head = json.dumps({**meta, "sizes": [len(b) for b in blobs]}).encode()
    return b"".join([HEADER.pack(len(head)), head, *blobs])


def unpack_envelope(data: bytes) -> tuple[dict, list[bytes]]:
    """Inverse of ``pack_envelope``.

    Raises:
        ValueError: the envelope is malformed (a grader fault, not a submission's).
    """
    (size,) = HEADER.unpack_from(data)
    meta = json.loads(data[HEADER.size:HEADER.size + size])
    blobs, at = [], HEADER.size + size
    for n in meta.pop("sizes"):
        blobs.append(data[at:at + n])
        at += n
    if at != len(data):
        raise ValueError(f"envelope has {len(data) - at} stray bytes")
    return meta, blobs
