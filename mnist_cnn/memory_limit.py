"""How much memory this process may use, and how much of it is its own, read from Linux.

Streamlit Community Cloud, like a container, caps an app with a memory cgroup, and the kernel
kills the process that passes it. The cap is read from cgroup v2 (``memory.max`` of the
process's own group) or v1 (``memory.limit_in_bytes``); a value of "max", or one above the
machine's memory (v1's way of saying none), means no cap. Elsewhere than Linux there is none
to read.

A process's own memory is its anonymous resident memory (``RssAnon``): the heap, TensorFlow's
tensors, the arrays. Library pages are file-backed and the kernel can drop and reread them, so
they are left out here (``memory_budget`` counts the part a server keeps running).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
BYTES_PER_MB = 2**20
KB_PER_MB = 1024


def cgroup_limit_mb(
    root: Path = CGROUP_ROOT, membership: Path = Path("/proc/self/cgroup")
) -> float | None:
    """The memory cgroup's limit for this process in MB, or None when there is none."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if controllers == "" and (root / "cgroup.controllers").exists():  # cgroup v2
            value = _first_readable(root / relative / "memory.max", root / "memory.max")
        elif "memory" in controllers.split(","):  # cgroup v1
            value = _first_readable(
                root / "memory" / relative / "memory.limit_in_bytes",
                root / "memory" / "memory.limit_in_bytes",
            )
        else:
            continue
        if value is None or value == "max":
            return None
        limit = int(value)
        return None if limit >= _machine_bytes() else limit / BYTES_PER_MB
    return None


@cache
def own_limit_mb() -> float | None:
    """``cgroup_limit_mb()`` for this process, read once: its group is set when it starts, and
    the Draw page asks on every drawing (through ``settings.familiarity_check``)."""
    return cgroup_limit_mb()


def anonymous_mb() -> float:
    """This process's anonymous resident memory in MB (0 where /proc cannot tell)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / KB_PER_MB
    except OSError:
        pass
    return 0.0


def _first_readable(*paths: Path) -> str | None:
    """The first of ``paths`` that can be read (a container may show its group as the root)."""
    for path in paths:
        try:
            return path.read_text().strip()
        except OSError:
            continue
    return None


def _machine_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
