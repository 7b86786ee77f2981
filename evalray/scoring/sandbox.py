"""A sandbox for model-written programs (HumanEval, MBPP).

Each program runs in its own process:

* an empty temporary working directory (removed afterwards) and an environment stripped to ``PATH``/``LANG``/``HOME``
  (no secrets, no ``PYTHON*`` variables; the interpreter starts isolated, ``-I``);
* resource limits: CPU seconds, address space, file size, open files, process count, no core dumps;
* a wall-clock timeout, after which the whole process group (and, where the OS allows it, the whole PID namespace)
  is killed;
* no network: a new network namespace (only a down loopback) where the OS allows it, otherwise ``socket`` is blocked
  inside the child;
* where the OS allows it (root, or user namespaces), a new PID and mount namespace: the program sees only its own
  processes in a fresh ``/proc`` (no other process's environment), and every mount but its working directory is
  read-only; file writes outside the working directory are also refused inside the interpreter.

:func:`run_program` runs one program; :func:`run_programs` runs many in parallel, as Ray tasks when Ray is
initialised (else in a thread pool).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence


@dataclass
class Limits:
    timeout_s: float = 10.0  # wall clock
    cpu_s: int = 10
    memory_mb: int = 2048  # address space
    file_size_mb: int = 16
    max_processes: int = 64  # pids cgroup where available, and RLIMIT_NPROC (binds non-root users only)
    max_open_files: int = 256
    output_chars: int = 4000  # of stdout/stderr kept in the result


@dataclass
class ExecResult:
    status: str  # "passed" | "failed" | "timeout"
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    isolation: str  # how the network was cut: "netns" or "socket-guard"

    @property
    def passed(self) -> bool:
        return self.status == "passed"


# The bootstrap runs in the child interpreter before the program: limits, namespaces, privilege drop, guards.
_BOOTSTRAP = r'''
import ctypes, os, resource, signal, sys
cfg = dict(arg.split("=", 1) for arg in sys.argv[1:])
def lim(kind, value):
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass
lim(resource.RLIMIT_CORE, 0)
lim(resource.RLIMIT_CPU, int(cfg["cpu"]))
lim(resource.RLIMIT_FSIZE, int(cfg["fsize"]))
lim(resource.RLIMIT_NOFILE, int(cfg["nofile"]))
if cfg.get("cgroup"):
    try:
        with open(cfg["cgroup"] + "/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
NEWUSER, NEWNET, NEWPID = 0x10000000, 0x40000000, 0x20000000
root = os.geteuid() == 0
NEWNS = 0x00020000
isolation = "socket-guard"
candidates = (NEWNET | NEWPID | NEWNS, NEWNET) if root else (NEWUSER | NEWNET | NEWPID, NEWUSER | NEWNET)
for flags in candidates:
    if libc.unshare(flags) == 0:
        isolation = "netns"
        break
with open(cfg["iso"], "w") as f:
    f.write(isolation)
if isolation == "netns" and flags & NEWPID:
    # the PID namespace applies to our children: fork, and the child becomes its init (killing it kills them all)
    child = os.fork()
    if child:
        _, status = os.waitpid(child, 0)
        os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
if isolation == "netns" and flags & NEWNS:
    # own mount namespace: a fresh /proc (only this sandbox's processes), every mount read-only but the work dir
    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
    mount = libc.mount
    mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    work = os.getcwd().encode()
    mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
    running = sum(1 for p in os.listdir("/proc") if p.isdigit())  # before the fresh /proc hides them
    mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_RDONLY, None)
    mount(work, work, None, MS_BIND, None)
    os.chdir(work)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in points:
        if point.encode() != work and point not in ("/dev", "/dev/pts", "/proc"):
            mount(None, point.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
    # a user namespace of our own: no capabilities left outside it (no remounting, RLIMIT_NPROC applies)
    libc.unshare(NEWUSER)
    cfg["nproc"] = str(int(cfg["nproc"]) + running)
lim(resource.RLIMIT_NPROC, int(cfg["nproc"]))
lim(resource.RLIMIT_AS, int(cfg["mem"]))
import builtins, io, socket
work = os.path.realpath(os.getcwd())
def inside(path):
    try:
        real = os.path.realpath(os.path.join(work, os.fsdecode(path)))
    except (TypeError, ValueError):
        return True
    return real == work or real.startswith(work + os.sep) or real in ("/dev/null",)
def guard_open(original):
    def opener(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in str(mode) for c in "wax+") and not inside(file):
            raise PermissionError(f"sandbox: writing outside the working directory is not allowed: {file}")
        return original(file, mode, *args, **kwargs)
    return opener
_os_open = os.open
def os_open(path, flags, *args, **kwargs):
    if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC) and not inside(path):
        raise PermissionError(f"sandbox: writing outside the working directory is not allowed: {path}")
    return _os_open(path, flags, *args, **kwargs)
builtins.open = io.open = guard_open(io.open)
os.open = os_open
if isolation != "netns":
    class _NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            raise PermissionError("sandbox: network access is not allowed")
    socket.socket = _NoSocket
    socket.create_connection = lambda *a, **k: (_ for _ in ()).throw(PermissionError("sandbox: network access is not allowed"))
del cfg, lim, libc, flags, candidates
path = "program.py"
with io.open(path, encoding="utf-8") as f:
    source = f.read()
sys.argv = [path]
code = compile(source, path, "exec")
namespace = {"__name__": "__main__", "__file__": path, "__builtins__": builtins}
exec(code, namespace)
'''


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


def run_program(program: str, limits: Limits | None = None, python: str | None = None) -> ExecResult:
    """Run one Python program in the sandbox; ``passed`` means it exited with status 0 within the limits."""
    limits = limits or Limits()
    outer = tempfile.mkdtemp(prefix="evalray-sbx-")
    workdir = os.path.join(outer, "work")
    os.mkdir(workdir)
    try:
        with open(os.path.join(workdir, "program.py"), "w", encoding="utf-8") as f:
            f.write(program)
        iso_file = os.path.join(outer, "isolation")
        args = [
            f"cpu={max(1, int(limits.cpu_s))}",
            f"mem={limits.memory_mb * 2**20}",
            f"fsize={limits.file_size_mb * 2**20}",
            f"nofile={limits.max_open_files}",
            f"nproc={limits.max_processes}",
            f"iso={iso_file}",
        ]
        cgroup = _pids_cgroup(os.path.basename(outer), limits.max_processes)
        if cgroup:
            args.append(f"cgroup={cgroup}")
        out_path, err_path = os.path.join(outer, "stdout"), os.path.join(outer, "stderr")
        start = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                [python or sys.executable, "-I", "-B", "-c", _BOOTSTRAP, *args],
                cwd=workdir, env=_clean_env(workdir), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, close_fds=True,
            )
            timed_out = False
            try:
                proc.wait(timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)
                proc.wait()
                _remove_cgroup(cgroup)
        duration = time.monotonic() - start
        isolation = _read(iso_file, 64).strip() or "none"
        returncode = None if timed_out else proc.returncode
        status = "timeout" if timed_out else ("passed" if proc.returncode == 0 else "failed")
        return ExecResult(status, returncode, _read(out_path, limits.output_chars), _read(err_path, limits.output_chars),
                          duration, isolation)
    finally:
        shutil.rmtree(outer, ignore_errors=True)


def _pids_cgroup(name: str, max_processes: int) -> str | None:
    """A pids cgroup capping the sandbox's process count (RLIMIT_NPROC does not bind root); None where unavailable."""
    if os.geteuid() != 0:
        return None
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        if not os.path.exists(os.path.join(base, "cgroup.procs")) or not os.access(base, os.W_OK):
            continue
        path = os.path.join(base, name)
        try:
            os.mkdir(path)
            with open(os.path.join(path, "pids.max"), "w") as f:
                f.write(str(max_processes))
            return path
        except OSError:
            _remove_cgroup(path)
    return None


def _remove_cgroup(path: str | None) -> None:
    if not path:
        return
    for _ in range(50):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                for pid in f.read().split():
                    try:
                        os.kill(int(pid), 9)
                    except (ProcessLookupError, PermissionError, ValueError):
                        pass
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, 9)
    except (ProcessLookupError, PermissionError):
        pass


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

        task = ray.remote(num_cpus=num_cpus, max_retries=0)(_run_remote)
        return ray.get([task.remote(p, limits) for p in programs])
    if len(programs) == 1:
        return [run_program(programs[0], limits)]
    with ThreadPoolExecutor(max_workers=min(len(programs), os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda p: run_program(p, limits), programs))
