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
IOV_MAX = 1024
"""the most buffers one ``writev`` takes (Linux's ``UIO_MAXIOV``)"""


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


def _views(payload) -> list[memoryview]:
    """A frame's header and payload as byte views. ``payload`` is bytes, or a list of bytes
    (``envelope``, ``course.codec.encode_parts``) that is sent as it is, never joined: a
    megabyte joined is a megabyte more to copy, in fresh pages."""
    parts = [payload] if isinstance(payload, (bytes, bytearray, memoryview)) else payload
    views = [memoryview(p).cast("B") for p in parts]
    return [memoryview(HEADER.pack(sum(v.nbytes for v in views))), *(v for v in views if v.nbytes)]


def write_frame(stream, payload) -> None:
    """Write one frame to a binary stream, buffered or not (a raw write may be partial)."""
    for view in _views(payload):
        while view:
            written = stream.write(view)
            view = view[written if written is not None else len(view):]
    stream.flush()


def write_fd(fd: int, payload) -> None:
    """Write one frame to a raw file descriptor (a pipe), however many writes it takes."""
    views = _views(payload)
    while views:
        written = os.writev(fd, views[:IOV_MAX])
        while written:  # drop what went out; what is left of a part partly written goes next
            if written >= views[0].nbytes:
                written -= views.pop(0).nbytes
            else:
                views[0] = views[0][written:]
                written = 0


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
        with memoryview(self.buffer) as view:  # one copy (a slice of the bytearray would be a second)
            frame = bytes(view[HEADER.size:end])
        del self.buffer[:end]
        return frame

    def pending(self) -> int:
        """Bytes of the current, incomplete frame announced or received so far."""
        if len(self.buffer) < HEADER.size:
            return len(self.buffer)
        return max(len(self.buffer), HEADER.size + HEADER.unpack_from(self.buffer)[0])


def envelope(meta: dict, blobs: list[bytes]) -> list[bytes]:
    """``meta`` (JSON-able, written by the server) followed by ``blobs`` (the child's frames),
    in parts (``write_frame`` sends them without joining them)."""
    head = json.dumps({**meta, "sizes": [len(b) for b in blobs]}).encode()
    return [HEADER.pack(len(head)), head, *blobs]


def pack_envelope(meta: dict, blobs: list[bytes]) -> bytes:
    """``envelope`` as one bytes object."""
    return b"".join(envelope(meta, blobs))


def unpack_envelope(data: bytes) -> tuple[dict, list[memoryview]]:
    """Inverse of ``pack_envelope``: the blobs are views into ``data``, not copies (a reply of A3's
    is most of a megabyte; ``course.codec.decode`` reads views as it reads bytes).

    Raises:
        ValueError: the envelope is malformed (a grader fault, not a submission's).
    """
    (size,) = HEADER.unpack_from(data)
    meta = json.loads(data[HEADER.size:HEADER.size + size])
    view = memoryview(data)
    blobs, at = [], HEADER.size + size
    for n in meta.pop("sizes"):
        blobs.append(view[at:at + n])
        at += n
    if at != len(data):
        raise ValueError(f"envelope has {len(data) - at} stray bytes")
    return meta, blobs
