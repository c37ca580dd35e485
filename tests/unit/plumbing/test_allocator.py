"""The edge's malloc tuning gives freed frame-sized blocks back to the kernel (glibc)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edge.plumbing.allocator import pin_malloc

# Frees a 1 MiB mapped block (glibc then raises its mmap threshold above frame size), makes 64
# blocks of 512 KiB, each followed by a 100 KiB block that stays, frees the big ones and prints
# how many MiB of resident memory that gave back.
CHURN = """
import ctypes, sys
from edge.plumbing.allocator import pin_malloc
if sys.argv[1] == "pinned":
    assert pin_malloc()
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
def rss_kib():
    status = open("/proc/self/status").read()
    return int(status.split("VmRSS:")[1].split()[0])
libc.free(libc.malloc(1 << 20))
blocks, kept = [], []
for _ in range(64):
    blocks.append(libc.malloc(512 << 10))
    ctypes.memset(blocks[-1], 1, 512 << 10)
    kept.append(libc.malloc(100 << 10))
before = rss_kib()
for block in blocks:
    libc.free(block)
print((before - rss_kib()) / 1024)
"""


def _given_back_mib(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_frames_go_back_to_the_kernel_once_pinned() -> None:
    assert _given_back_mib("default") < 4  # held in the heap, behind the blocks that stay
    assert _given_back_mib("pinned") > 28  # 32 MiB freed, each block mapped on its own


def test_pinning_twice_is_harmless() -> None:
    assert pin_malloc() == pin_malloc()
