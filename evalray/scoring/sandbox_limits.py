"""Limits for a sandbox's whole process tree: a cgroup (v2, else v1 ``memory`` and ``pids``) where this process may
create one inside its own, else a watchdog that sums the tree's resident memory every few milliseconds (the
documented fallback: it can overshoot by what the tree allocates between two polls; each process is also held to
``RLIMIT_AS``). Standard library only."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class TreeLimits:
    """The cgroups made for one sandbox (empty where none could be), and how the memory limit is enforced."""

    dirs: list[str] = field(default_factory=list)
    memory: str = "watchdog"  # "cgroup" or "watchdog"
    memory_dir: str | None = None  # the cgroup holding the memory limit
    oom_files: list[str] = field(default_factory=list)  # memory.events (v2) or memory.oom_control (v1)

    def oom_killed(self) -> bool:
        for path in self.oom_files:
            try:
                with open(path) as f:
                    for line in f:
                        key, _, value = line.partition(" ")
                        if key in ("oom_kill", "oom") and int(value) > 0:
                            return True
            except (OSError, ValueError):
                pass
        return False


def _own_cgroups() -> dict[str, str]:
    """Controller ('' for v2) -> this process's cgroup path."""
    out: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for c in controllers.split(",") if controllers else [""]:
                    out[c] = path
    except OSError:
        pass
    return out


def _mounts() -> dict[str, str]:
    """Controller ('' for v2) -> where its hierarchy is mounted."""
    out: dict[str, str] = {}
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fstype, _, options = (right.split() + ["", "", ""])[:3]
                point = left.split()[4]
                if fstype == "cgroup2":
                    out.setdefault("", point)
                elif fstype == "cgroup":
                    for c in ("memory", "pids"):
                        if c in options.split(","):
                            out.setdefault(c, point)
    except OSError:
        pass
    return out


def _write(path: str, value: str) -> bool:
    try:
        with open(path, "w") as f:
            f.write(value)
        return True
    except OSError:
        return False


STALE_S = 600  # an empty sandbox cgroup this old was left by a killed caller (programs run for seconds)


def _make(parent: str, name: str) -> str | None:
    path = os.path.join(parent, name)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        return None
    _sweep(parent)
    try:
        os.mkdir(path)
    except OSError:
        return None
    return path


def _sweep(parent: str) -> None:
    """Remove empty sandbox cgroups left behind by a killed caller (they would keep ``parent`` from being removed)."""
    try:
        entries = [e for e in os.scandir(parent) if e.name.startswith("evalray-sbx-") and e.is_dir()]
    except OSError:
        return
    for entry in entries:
        try:
            if time.time() - entry.stat().st_mtime < STALE_S:
                continue
            with open(os.path.join(entry.path, "cgroup.procs")) as f:
                if f.read().strip():
                    continue
            os.rmdir(entry.path)
        except OSError:
            pass


def make_tree_limits(name: str, memory_bytes: int, max_processes: int) -> TreeLimits:
    """Cgroups capping the sandbox's memory (whole tree, no swap) and process count, where this process can make them."""
    own, mounts, limits = _own_cgroups(), _mounts(), TreeLimits()
    if "" in mounts and "" in own:
        parent = mounts[""] + own[""].rstrip("/")
        try:
            with open(os.path.join(parent, "cgroup.subtree_control")) as f:
                enabled = f.read().split()
        except OSError:
            enabled = []
        if "memory" in enabled and (path := _make(parent, name)):
            limits.dirs.append(path)
            if _write(os.path.join(path, "memory.max"), str(memory_bytes)):
                _write(os.path.join(path, "memory.swap.max"), "0")
                _write(os.path.join(path, "memory.oom.group"), "1")
                limits.memory, limits.memory_dir = "cgroup", path
                limits.oom_files = [os.path.join(path, "memory.events")]
            if "pids" in enabled:
                _write(os.path.join(path, "pids.max"), str(max_processes))
    if limits.memory != "cgroup" and "memory" in mounts and "memory" in own:
        path = _make(mounts["memory"] + own["memory"].rstrip("/"), name)
        if path:
            limits.dirs.append(path)
            if _write(os.path.join(path, "memory.limit_in_bytes"), str(memory_bytes)):
                _write(os.path.join(path, "memory.memsw.limit_in_bytes"), str(memory_bytes))
                limits.memory, limits.memory_dir = "cgroup", path
                limits.oom_files = [os.path.join(path, "memory.oom_control")]
    if "pids" in mounts and "pids" in own:
        path = _make(mounts["pids"] + own["pids"].rstrip("/"), name)
        if path:
            limits.dirs.append(path)
            _write(os.path.join(path, "pids.max"), str(max_processes))
    return limits


def remove_tree_limits(limits: TreeLimits) -> None:
    for path in limits.dirs:
        _remove_cgroup(path)


def _remove_cgroup(path: str) -> None:
    for _ in range(100):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                for pid in f.read().split():
                    _kill(int(pid))
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            time.sleep(0.02)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (read from /proc/PID/task/TID/children)."""
    seen, todo = [], [pid]
    while todo:
        current = todo.pop()
        seen.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split() if int(c) not in seen)
            except (OSError, ValueError):
                pass
    return seen


def resident_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            pass
    return total


def kill_tree(pid: int, limits: TreeLimits) -> None:
    """SIGKILL the sandbox: its process group, every descendant, everything in its cgroups."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for child in tree(pid):
        _kill(child)
    for path in limits.dirs:
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                for p in f.read().split():
                    _kill(int(p))
        except (OSError, ValueError):
            pass
