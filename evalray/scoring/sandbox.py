"""A sandbox for model-written programs (HumanEval, MBPP).

Each program runs in its own process (the bootstrap is :mod:`evalray.scoring.sandbox_child`), as root and as an
ordinary user (through a user namespace):

* private mount, PID, network, IPC and UTS namespaces;
* a read-only root: the only writable places are the empty working directory (removed afterwards) and a private,
  size-limited ``/tmp`` and ``/dev/shm``; ``/dev`` holds only null, zero, full, random and urandom;
* no filesystem Unix sockets: a seccomp filter refuses ``socket(AF_UNIX)`` (and mount, unshare, setns, ptrace,
  bpf, io_uring...); ``/run``, ``/var/run``, ``/tmp`` (so ``/tmp/ray``) and Ray's temp dir are private or masked;
* no readable secrets: root drops to an unprivileged uid of its own; ``/etc/shadow``, home directories, the
  project's directory (the caller's working directory and evalray's checkout) are masked by empty mounts; a fresh
  ``/proc`` shows only the sandbox's processes; the environment is stripped to ``PATH``/``LANG``/``HOME``;
* limits: a memory limit for the whole process tree (a cgroup where one can be made, else a watchdog summing the
  tree's resident memory plus ``RLIMIT_AS`` per process), process count (pids cgroup and ``RLIMIT_NPROC``), CPU
  seconds, file size, open files, no core dumps; a wall-clock timeout kills the whole tree;
* no network: the network namespace has only a down loopback (without one: seccomp refuses inet sockets and
  ``socket`` is blocked inside the interpreter).

Where the OS cannot give one of these levels, ``require`` decides: ``strict`` (the default) refuses to run with one
line naming what is missing; ``best_effort`` says so once (a warning) and runs with what it has. Set it with
``Limits.require`` or the environment variable ``EVALRAY_SANDBOX_REQUIRE`` (see docs/reliability.md, "Sandbox").

:func:`run_program` runs one program; :func:`run_programs` runs many in parallel, as Ray tasks when Ray is
initialised (else in a thread pool).
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from evalray.errors import EvalrayError
from evalray.scoring import sandbox_limits as tree

log = logging.getLogger(__name__)
REQUIRE_ENV = "EVALRAY_SANDBOX_REQUIRE"
CHILD_SOURCE = Path(__file__).with_name("sandbox_child.py").read_text(encoding="utf-8")
STRICT_EXIT = 97  # the bootstrap's exit code when require=strict and a level is missing

# every isolation level, as the message names it
LEVELS = {
    "mount_namespace": "a private mount namespace",
    "read_only_root": "a read-only root",
    "private_tmp": "a private /tmp",
    "private_dev_shm": "a private /dev/shm",
    "minimal_dev": "a minimal /dev",
    "masked_secrets": "masked secrets (/etc/shadow, home and project directories)",
    "fresh_proc": "a private /proc",
    "pid_namespace": "a PID namespace",
    "network_namespace": "a network namespace",
    "privilege_drop": "an unprivileged uid",
    "no_new_privs": "no_new_privs (no gain from setuid binaries)",
    "unix_socket_block": "a seccomp filter against Unix sockets",
    "tree_memory_limit": "a memory limit for the whole process tree (cgroup)",
}
_WARNED: set[tuple[str, ...]] = set()


class SandboxUnavailable(EvalrayError):
    """The OS cannot give an isolation level that ``require: strict`` asks for (fatal: it stops the run, it is not
    recorded as one sample's scoring error)."""

    fatal = True


@dataclass
class Limits:
    timeout_s: float = 10.0  # wall clock
    cpu_s: int = 10
    memory_mb: int = 2048  # the whole process tree (cgroup or watchdog), and each process's address space
    file_size_mb: int = 16
    max_processes: int = 64  # pids cgroup where available, and RLIMIT_NPROC
    max_open_files: int = 256
    output_chars: int = 4000  # of stdout/stderr kept in the result
    tmp_mb: int = 64  # size of the private /tmp and of /dev/shm
    require: str | None = None  # "strict" | "best_effort"; None: $EVALRAY_SANDBOX_REQUIRE, else "strict"


@dataclass
class ExecResult:
    status: str  # "passed" | "failed" | "timeout"
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    isolation: str  # how the network was cut: "netns" or "socket-guard"
    missing: tuple[str, ...] = ()  # isolation levels (keys of LEVELS) this run did without (best_effort)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def require_mode(limits: Limits) -> str:
    mode = limits.require or os.environ.get(REQUIRE_ENV) or "strict"
    if mode not in ("strict", "best_effort"):
        raise SandboxUnavailable(f"sandbox: require must be 'strict' or 'best_effort', not {mode!r} ({REQUIRE_ENV})")
    return mode


def _clean_env(workdir: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
    }


def _read(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


SYSTEM_DIRS = ("/", "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/proc", "/dev", "/sys", "/var",
               "/opt", "/tmp", "/mnt", "/srv")


def _ray_temp_dir() -> str | None:
    if "ray" not in sys.modules:
        return None
    try:
        from ray._private import worker

        return worker.global_worker.node.get_temp_dir_path()
    except Exception:  # noqa: BLE001 - not in a Ray process, or a Ray without this internal
        return None


def _masks(python: str) -> list[str]:
    """Paths the program must not read: credentials, home directories, the project, Ray's sockets and logs."""
    homes = {"/root", "/home", os.path.expanduser("~")}
    try:
        homes.add(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    project = {os.getcwd()}
    checkout = Path(__file__).resolve().parents[2]  # evalray's source tree (not a site-packages it is installed in)
    if (checkout / "pyproject.toml").exists() or (checkout / ".git").exists():
        project.add(str(checkout))
    ray_dirs = {d for d in (os.environ.get("RAY_TMPDIR"), _ray_temp_dir()) if d}
    files = ["/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/ssh", "/etc/ssl/private"]
    dirs = {os.path.realpath(p) for p in homes | project | ray_dirs | {"/run", "/var/run", "/var/tmp"}}
    keep = _keep(python)
    return files + sorted(d for d in dirs if d not in SYSTEM_DIRS and not d.startswith("/tmp/") and "," not in d
                          and not any(d == k or d.startswith(k + "/") for k in keep))  # never hide the interpreter


def _keep(python: str) -> list[str]:
    """The interpreter's own directories: bound back (read-only) if a mask covers them."""
    exe_prefix = os.path.dirname(os.path.dirname(os.path.realpath(python)))
    paths = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix, exe_prefix}
    return sorted(os.path.realpath(p) for p in paths if p and "," not in p)


def _warn_once(missing: tuple[str, ...]) -> None:
    if missing and missing not in _WARNED:
        _WARNED.add(missing)
        log.warning("sandbox: this system cannot give %s; running generated code with weaker isolation "
                    "(require: best_effort)", ", ".join(LEVELS[m] for m in missing))


def _unavailable(missing: tuple[str, ...]) -> SandboxUnavailable:
    what = ", ".join(LEVELS[m] for m in missing)
    return SandboxUnavailable(
        f"sandbox: this system cannot give {what} (needs root, or user namespaces and a writable cgroup); "
        f"set {REQUIRE_ENV}=best_effort (or Limits.require) to run generated code with weaker isolation")


def _child_args(limits: Limits, outer: str, caps: tree.TreeLimits, python: str, mode: str) -> list[str]:
    return [
        f"cpu={max(1, int(limits.cpu_s))}",
        f"mem={limits.memory_mb * 2**20}",
        f"fsize={limits.file_size_mb * 2**20}",
        f"nofile={limits.max_open_files}",
        f"nproc={limits.max_processes}",
        f"tmp_mb={limits.tmp_mb}",
        f"report={os.path.join(outer, 'report')}",
        f"cgroups={','.join(caps.dirs)}",
        f"memcg={caps.memory_dir or ''}",  # the child reports tree_memory_limit once it is inside this one
        f"uid={2**20 + secrets.randbelow(2**19)}",  # root's sandbox runs as a uid of its own
        f"mask={','.join(_masks(python))}",
        f"keep={','.join(_keep(python))}",
        f"need={','.join(LEVELS)}",
        f"require={mode}",
    ]


def _watch(proc: subprocess.Popen, limits: Limits, caps: tree.TreeLimits) -> str:
    """Wait for the program; kill the whole tree on timeout or when it holds more memory than allowed."""
    deadline = time.monotonic() + limits.timeout_s
    budget = limits.memory_mb * 2**20
    while True:
        try:
            proc.wait(timeout=0.05)
            return "memory" if caps.oom_killed() else "exited"
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= deadline:
            return "timeout"
        if caps.oom_killed() or (caps.memory != "cgroup" and tree.resident_bytes(tree.tree(proc.pid)) > budget):
            return "memory"


def run_program(program: str, limits: Limits | None = None, python: str | None = None) -> ExecResult:
    """Run one Python program in the sandbox; ``passed`` means it exited with status 0 within the limits."""
    limits = limits or Limits()
    mode, python = require_mode(limits), python or sys.executable
    outer = tempfile.mkdtemp(prefix="evalray-sbx-")
    workdir = os.path.join(outer, "work")
    os.mkdir(workdir)
    caps = tree.make_tree_limits(os.path.basename(outer), limits.memory_mb * 2**20, limits.max_processes)
    try:
        if caps.memory != "cgroup" and mode == "strict":
            raise _unavailable(("tree_memory_limit",))
        with open(os.path.join(workdir, "program.py"), "w", encoding="utf-8") as f:
            f.write(program)
        out_path, err_path = os.path.join(outer, "stdout"), os.path.join(outer, "stderr")
        start = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                [python, "-I", "-B", "-c", CHILD_SOURCE, *_child_args(limits, outer, caps, python, mode)],
                cwd=workdir, env=_clean_env(workdir), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, close_fds=True,
            )
            try:
                ending = _watch(proc, limits, caps)
            finally:
                tree.kill_tree(proc.pid, caps)
                proc.wait()
        return _result(proc.returncode, ending, limits, outer, time.monotonic() - start, caps, mode)
    finally:
        tree.remove_tree_limits(caps)
        shutil.rmtree(outer, ignore_errors=True)


def _result(returncode: int, ending: str, limits: Limits, outer: str, duration: float, caps: tree.TreeLimits,
            mode: str) -> ExecResult:
    try:
        report = json.loads(_read(os.path.join(outer, "report"), 1 << 16) or "{}")
    except ValueError:
        report = {}
    missing = tuple(k for k in LEVELS if not report.get(k))
    if mode == "strict" and missing and returncode == STRICT_EXIT:
        raise _unavailable(missing)
    if mode == "best_effort":
        _warn_once(missing)
    stdout = _read(os.path.join(outer, "stdout"), limits.output_chars)
    stderr = _read(os.path.join(outer, "stderr"), limits.output_chars)
    if ending == "memory":
        stderr += f"\nsandbox: the program's processes held more than {limits.memory_mb} MiB; all were killed"
    if ending == "exited" and returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        ending = "timeout"  # the CPU-seconds limit: a time limit, whichever of the two clocks ran out first
        stderr += f"\nsandbox: the program used more than {limits.cpu_s} CPU seconds and was stopped"
    status = {"timeout": "timeout", "memory": "failed"}.get(ending, "passed" if returncode == 0 else "failed")
    return ExecResult(status, None if ending == "timeout" else returncode, stdout, stderr, duration,
                      report.get("isolation", "none"), missing)


def _run_remote(program: str, limits: Limits) -> ExecResult:
    return run_program(program, limits)


def run_programs(programs: Sequence[str], limits: Limits | None = None, use_ray: bool | None = None,
                 num_cpus: float = 1.0) -> list[ExecResult]:
    """Run many programs in parallel: one Ray task each when Ray is initialised (or ``use_ray``), else threads."""
    limits = limits or Limits()
    if not programs:
        return []
    if use_ray is None:
        try:
            import ray

            use_ray = ray.is_initialized()
        except ImportError:  # pragma: no cover
            use_ray = False
    if use_ray:
        import ray

        if limits.require is None:  # the driver's choice travels with the task (workers may lack the variable)
            limits = Limits(**{**limits.__dict__, "require": require_mode(limits)})
        task = ray.remote(num_cpus=num_cpus, max_retries=0)(_run_remote)
        return ray.get([task.remote(p, limits) for p in programs])
    if len(programs) == 1:
        return [run_program(programs[0], limits)]
    with ThreadPoolExecutor(max_workers=min(len(programs), os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda p: run_program(p, limits), programs))
