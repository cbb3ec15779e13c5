"""An ``.npz`` file (the zip of ``.npy`` members ``np.savez_compressed`` writes), written with little Python per member.

Why not ``zipfile``: the recorder writes every episode on a thread beside the running env, and what that thread does
in Python holds the GIL the env needs. Beyond the deflate itself, ``zipfile`` and ``np.save`` spend about 24 µs of
Python per member (a ``ZipInfo``, a local header written, sought back to and rewritten, buffered writes), and an
episode has 20-120 members, most of them a few hundred bytes. Here each member is one ``.npy`` header from numpy,
one deflate and one CRC (both release the GIL) and two ``struct.pack`` calls: about 12 µs (a recorded Reach
episode, 22 members: 1.16 ms of CPU against 0.90 ms, 0.63 ms of it deflate). The file is a plain zip (APPNOTE
6.3.10, sections 4.3.7, 4.3.12, 4.3.16) that ``zipfile``, ``np.load`` and ``unzip`` read. Every member carries the
same fixed date (1980-01-01), so the same arrays make the same bytes.

Archives that need ZIP64 (a member or the file beyond 4 GiB, more than 65,535 members) are left to ``zipfile``:
episode files that large are refused by the reader anyway, and written only so that nothing recorded is lost.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np
from numpy.lib import format as npy_format

#: bytes of all arrays together up to which the plain-zip writer is used (its offsets and sizes are 32-bit)
PLAIN_ZIP_LIMIT = 2**31
#: DOS date of 1980-01-01 (year 0 = 1980, month 1, day 1) and time 00:00:00
FIXED_DOS_DATE = (0 << 9) | (1 << 5) | 1
FIXED_DOS_TIME = 0
VERSION_NEEDED = 20  # deflate
VERSION_MADE_BY = (3 << 8) | 20  # Unix, spec 2.0 (as zipfile writes it)
EXTERNAL_ATTRIBUTES = 0o600 << 16  # -rw-------, as zipfile gives a member it writes from a stream
LOCAL_SIGNATURE, CENTRAL_SIGNATURE, END_SIGNATURE = 0x04034B50, 0x02014B50, 0x06054B50
LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
END_RECORD = struct.Struct("<IHHHHIIH")


def npy_bytes_header(array: np.ndarray) -> bytes:
    """The ``.npy`` header ``np.save`` writes for a C-ordered ``array`` (format 1.0, padded to 64 bytes)."""
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, npy_format.header_data_from_array_1_0(array))
    return buffer.getvalue()


def write_npz(file: BinaryIO, arrays: Mapping[str, np.ndarray], level: int) -> None:
    """Write ``arrays`` as the members ``<name>.npy`` of a deflated zip at zlib ``level``; no pickled objects."""
    arrays = {name: _c_ordered(name, array) for name, array in arrays.items()}
    if sum(a.nbytes for a in arrays.values()) >= PLAIN_ZIP_LIMIT or len(arrays) > 0xFFFF:
        _write_zip64(file, arrays, level)
        return
    directory = []
    offset = 0
    for name, array in arrays.items():
        filename = f"{name}.npy".encode()
        header = npy_bytes_header(array)
        data = array.reshape(-1).view(np.uint8)
        crc = zlib.crc32(data, zlib.crc32(header))
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)  # raw deflate: zip's method 8
        body = compressor.compress(header) + compressor.compress(data) + compressor.flush()
        stamp = (zipfile.ZIP_DEFLATED, FIXED_DOS_TIME, FIXED_DOS_DATE, crc, len(body), len(header) + data.nbytes)
        file.write(LOCAL_HEADER.pack(LOCAL_SIGNATURE, VERSION_NEEDED, 0, *stamp, len(filename), 0))
        file.write(filename)
        file.write(body)
        entry = (len(filename), 0, 0, 0, 0, EXTERNAL_ATTRIBUTES, offset)
        directory.append(CENTRAL_HEADER.pack(CENTRAL_SIGNATURE, VERSION_MADE_BY, VERSION_NEEDED, 0, *stamp, *entry))
        directory.append(filename)
        offset += LOCAL_HEADER.size + len(filename) + len(body)
    listing = b"".join(directory)
    file.write(listing)
    members = len(arrays)
    file.write(END_RECORD.pack(END_SIGNATURE, 0, 0, members, members, len(listing), offset, 0))


def _c_ordered(name: str, array: Any) -> np.ndarray:
    """``array`` as a C-ordered ndarray (its shape kept, 0-d included); object arrays refused like ``np.save``'s."""
    array = np.asanyarray(array)
    if array.dtype.hasobject:
        raise ValueError(f"array {name!r} holds Python objects ({array.dtype}): an episode file stores no pickles")
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def _write_zip64(file: BinaryIO, arrays: Mapping[str, np.ndarray], level: int) -> None:
    """An archive beyond the plain zip's 32-bit fields, by ``zipfile`` (slower per member, and it is rare)."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                npy_format.write_array(member, array, allow_pickle=False)
