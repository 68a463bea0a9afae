"""Memory the prediction paths need, estimated before they allocate it.

A problem larger than the memory at hand is bad input (exit 2 with one line saying what
would fit), never a kill by the kernel or a traceback from an allocation.  The
estimates count the largest arrays each path holds at once, in bytes:

* column path (orthonormal embeddings): about ``COLUMN_BYTES_PER_POSITION`` per
  position of the padded dataset (token ids, masks, SCC look-ups), three K x K score
  matrices, and the largest dense block of ``W_fin`` (samples of one SCC x its size);
* joint path: the per-position features of ``W_fin`` (n x T x dim S_fin) and the
  orthonormal basis of ``S_fin`` (dim S_fin x d x d), each held about twice.

Example
-------
>>> need = column_bytes(n=1000, T=16, K=100)
>>> 0 < need < 10 * 2**20
True
"""

from __future__ import annotations

import os
from pathlib import Path

from ntp_mechanics.model.dataset import DatasetError

__all__ = ["TooLargeError", "available_bytes", "column_bytes", "joint_bytes", "require"]

COLUMN_BYTES_PER_POSITION = 48
JSON_BYTES_PER_ENTRY = 64  # a float in a Python list and in the JSON text
HEADROOM = 0.8  # use at most this fraction of the available memory


class TooLargeError(DatasetError):
    """The problem needs more memory than is available (exit 2, one line)."""


def available_bytes() -> int:
    """Memory this process may still use: MemAvailable, capped by a cgroup limit."""
    avail = _meminfo_available()
    limit = _cgroup_room()
    return min(x for x in (avail, limit) if x is not None) if (avail or limit) else 1 << 62


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_room() -> int | None:
    try:
        root = Path("/sys/fs/cgroup")
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((root / "memory.current").read_text())
    except (OSError, ValueError):
        return None


def column_bytes(n: int, T: int, K: int, block: int = 0, json_out: bool = False) -> int:
    """Peak bytes of the column path; ``block`` the largest ``samples x SCC size``."""
    need = COLUMN_BYTES_PER_POSITION * n * T + 3 * 8 * K * K + 3 * 8 * block
    if json_out:
        need += 2 * JSON_BYTES_PER_ENTRY * K * K
    return int(need)


def joint_bytes(n: int, T: int, d: int, dim_fin: int, json_out: bool = False) -> int:
    """Peak bytes of the joint path (features and basis of ``S_fin``)."""
    need = 2 * 8 * n * T * dim_fin + 2 * 8 * dim_fin * d * d + COLUMN_BYTES_PER_POSITION * n * T
    if json_out:
        need += 2 * JSON_BYTES_PER_ENTRY * d * d
    return int(need)


def require(need: int, what: str, fits: str = "") -> None:
    """Raise :class:`TooLargeError` when ``need`` bytes exceed the usable memory.

    ``fits`` says what would fit (appended to the message).
    """
    room = int(HEADROOM * available_bytes())
    if need > room:
        hint = f"; {fits}" if fits else ""
        raise TooLargeError(
            f"{what} needs about {_gib(need)} of memory, {_gib(room)} available{hint}"
        )


def _gib(x: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if x >= size:
            return f"{x / size:.1f} {unit}"
    return f"{int(x)} bytes"
