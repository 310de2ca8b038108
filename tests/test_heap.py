"""heap.release_free_memory returns the C heap's free pages to the OS (glibc's malloc_trim)."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import pytest

from allocator.run import heap


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux") or heap._malloc_trim() is None,
                    reason="malloc_trim is glibc's (Linux)")
def test_free_heap_pages_go_back_to_the_os():
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    # 64 MB in 16 KB blocks: below the mmap threshold, so they come from the heap
    blocks = [libc.malloc(16 * 1024) for _ in range(4096)]
    for b in blocks:
        ctypes.memset(b, 1, 16 * 1024)  # touch every page
    pin = libc.malloc(16 * 1024)  # a live block above them keeps free() from trimming the top by itself
    for b in blocks:
        libc.free(b)
    before_kb = _rss_kb()
    assert heap.release_free_memory() is True
    released_mb = (before_kb - _rss_kb()) / 1024
    libc.free(pin)
    assert released_mb > 48, f"only {released_mb:.1f} MB of 64 MB freed went back"


def test_without_malloc_trim_it_does_nothing(monkeypatch):
    monkeypatch.setattr(heap, "_malloc_trim", lambda: None)
    assert heap.release_free_memory() is False


def test_a_run_trims_after_every_site(tmp_path, monkeypatch):
    """allocator.solve returns the freed heap after each site, so a long run does not creep."""
    from allocator import solve
    from conftest import write_site

    calls = []
    monkeypatch.setattr(heap, "release_free_memory", lambda: calls.append(1) or True)
    doc = {"site": {"interconnect_mw": 10.0},
           "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
                      "fleet": [{"model": "Test20", "efficiency_j_per_th": 20.0, "mw": 10.0}]}}
    paths = [write_site(tmp_path, [20.0, 50.0, 150.0], doc, site_id=f"s{i}") for i in range(3)]
    result = solve(paths)
    assert len(result.sites) == 3 and len(calls) == 3
