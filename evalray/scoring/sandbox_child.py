"""The sandbox's bootstrap: it runs in the child interpreter (``python -I -B -c <this source> key=value ...``) before
the model-written program, and builds the isolation around it. Standard library only; never imported by evalray.

Order: resource limits and cgroups first (nothing may fork before), then new namespaces (user namespace for non-root),
the PID namespace's init, the mounts (read-only root, empty writable work dir, private ``/tmp`` and ``/dev/shm``,
minimal ``/dev``, masked secrets), the privilege drop, a seccomp filter (no ``AF_UNIX`` sockets, no mount or
namespace calls), and last the program. What could be set up is written to the ``report`` file (JSON) for the parent;
under ``require=strict`` a missing level stops here, before the program runs (exit code 97).
"""

import ctypes
import json
import os
import resource
import signal
import struct
import sys

cfg = dict(arg.split("=", 1) for arg in sys.argv[1:])
report = {}
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
NEWNS, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET = 0x20000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
# statvfs flag -> mount flag that must be kept when remounting (locked in a user namespace)
KEEP = ((2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, 1024), (2048, 2048), (4096, 1 << 21))


def lim(kind, value):
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass


def mount(source, target, fstype, flags, data=None):
    ok = libc.mount(source and os.fsencode(source), os.fsencode(target), fstype and fstype.encode(), flags,
                    data and data.encode()) == 0
    return ok


def remount_ro(point):
    try:
        have = os.statvfs(point).f_flag
    except OSError:
        return False
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV  # adding restrictions is always allowed
    for st, ms in KEEP:
        if have & st:
            flags |= ms
    if not have & (1024 | 4096):
        flags |= 1 << 24  # MS_STRICTATIME: the atime setting is locked in a user namespace too
    return bool(have & 1) or mount(None, point, None, flags)


def join_cgroups():
    joined = []
    for path in filter(None, cfg.get("cgroups", "").split(",")):
        try:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            joined.append(path)
        except OSError:
            pass
    report["cgroups"] = joined
    report["tree_memory_limit"] = bool(cfg.get("memcg")) and cfg["memcg"] in joined


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def enter_namespaces(root):
    """New user (non-root), mount, PID, network, IPC and UTS namespaces; the widest set the OS allows."""
    uid, gid = os.getuid(), os.getgid()
    base = NEWNS | NEWNET | NEWPID | NEWIPC | NEWUTS
    # root without CAP_SYS_ADMIN (a container) may still get a user namespace, like an ordinary user
    candidates = (base, base | NEWUSER, NEWNET) if root else (base | NEWUSER, NEWNS | NEWNET | NEWPID | NEWUSER)
    for flags in candidates:
        if libc.unshare(flags) == 0:
            break
    else:
        return 0
    if flags & NEWUSER:
        try:
            write("/proc/self/setgroups", "deny")
            write("/proc/self/uid_map", f"0 {uid} 1")
            write("/proc/self/gid_map", f"0 {gid} 1")
        except OSError:
            return 0
    report.update(user_namespace=bool(flags & NEWUSER), mount_namespace=bool(flags & NEWNS),
                  pid_namespace=bool(flags & NEWPID), network_namespace=True)
    return flags


def become_init():
    """The PID namespace applies to our children: fork; the child is its init (killing it kills them all)."""
    child = os.fork()
    if child:
        signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
        _, status = os.waitpid(child, 0)
        os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent


def mount_points():
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    decode = lambda p: p.encode().decode("unicode_escape").encode("latin-1").decode()  # \040 escapes
    return [decode(p) for p in points]


def fd_path(fd):
    return f"/proc/self/fd/{fd}"


def bind(fd, target, read_only):
    if not mount(fd_path(fd), target, None, MS_BIND | MS_REC):
        return False
    return remount_ro(target) if read_only else True


def tmpfs(target, size_mb, mode, read_only=False):
    flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if read_only else 0)
    return mount("tmpfs", target, "tmpfs", flags, f"size={size_mb}m,mode={mode}")


def under(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


def build_dev(dev_fds, shm_mb):
    """A fresh /dev: null, zero, full, random and urandom bound from the real ones, a private /dev/shm."""
    if not tmpfs("/dev", 1, "755"):
        return False
    ok = True
    for name, fd in dev_fds.items():
        open(f"/dev/{name}", "w").close()
        ok = bind(fd, f"/dev/{name}", False) and ok
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"/dev/{name}")
    os.mkdir("/dev/shm")
    report["private_dev_shm"] = tmpfs("/dev/shm", shm_mb, "1777")
    return remount_ro("/dev") and ok


def mask(target, keep_fds, size_mb):
    """Hide ``target`` under an empty read-only tmpfs; the paths in keep_fds (inside it) are bound back, read-only."""
    if os.path.islink(target) or not os.path.exists(target):
        return True
    if not os.path.isdir(target):
        return mount("/dev/null", target, None, MS_BIND)  # a file: now reads as empty
    writable = target == "/tmp"
    if not tmpfs(target, size_mb if writable else 1, "1777" if writable else "755"):
        return False
    ok = True
    for path, (fd, read_only) in keep_fds.items():
        if under(path, target) and path != target:
            os.makedirs(path, exist_ok=True)
            ok = bind(fd, path, read_only) and ok
    return (writable or remount_ro(target)) and ok


def build_mounts(work):
    """Read-only everything, fresh /proc, minimal /dev, private /tmp, masks; only the work dir stays writable."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount(work, work, None, MS_BIND | MS_REC)  # its own mount: left writable when everything else turns read-only
    opener = lambda p: os.open(p, os.O_PATH | os.O_CLOEXEC)
    dev_fds = {n: opener(f"/dev/{n}") for n in ("null", "zero", "full", "random", "urandom") if os.path.exists(f"/dev/{n}")}
    keep = {work: (opener(work), False)}
    for path in filter(None, cfg.get("keep", "").split(",")):
        if os.path.isdir(path):
            keep[os.path.realpath(path)] = (opener(path), True)
    read_only = True
    hidden = ["/proc", "/dev", "/tmp", *(m for m in cfg.get("mask", "").split(",") if m and os.path.isdir(m))]
    for point in mount_points():
        if point != work and not under(point, "/proc") and not under(point, "/dev"):
            # a mount that cannot be remounted (another user's FUSE mount) counts only if the masks leave it visible
            read_only = (remount_ro(point) or any(under(point, h) for h in hidden)) and read_only
    report["read_only_root"] = read_only and os.statvfs("/").f_flag & 1 == 1
    # binds from /proc/self/fd/N need the old /proc: /dev, /tmp and the masks first, the fresh /proc last
    report["minimal_dev"] = build_dev(dev_fds, int(cfg["tmp_mb"]))
    report["private_tmp"] = mask("/tmp", keep, int(cfg["tmp_mb"]))
    masked = True
    for target in filter(None, cfg.get("mask", "").split(",")):
        masked = mask(target, keep, 1) and masked
    report["masked_secrets"] = masked
    report["fresh_proc"] = mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if not report["fresh_proc"]:  # no /proc of our own: hide the host's (other processes' environments)
        report["fresh_proc"] = tmpfs("/proc", 1, "555", read_only=True)
    for fd in [*dev_fds.values(), *(fd for fd, _ in keep.values())]:
        os.close(fd)
    os.chdir(work)


def drop_privileges(root):
    """Root becomes an unprivileged uid of its own; a non-root user leaves its namespace's capabilities behind."""
    if root:
        uid = int(cfg["uid"])
        try:
            os.chown(os.getcwd(), uid, uid)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        except OSError:
            return False
        return os.geteuid() == uid
    return libc.unshare(NEWUSER) == 0  # a user namespace of our own: no capabilities over our mounts


ARCH = {"x86_64": (0xC000003E, {"socket": 41, "deny": (165, 166, 155, 101, 321, 298, 250, 248, 249, 425, 426, 427,
                                                      323, 308, 272)}),
        "aarch64": (0xC00000B7, {"socket": 198, "deny": (40, 39, 41, 117, 280, 241, 219, 217, 218, 425, 426, 427,
                                                         282, 268, 97)})}


def seccomp(block_inet):
    """A seccomp filter: socket(AF_UNIX) (and, without a network namespace, AF_INET/AF_INET6/AF_PACKET/AF_NETLINK),
    mount, umount, pivot_root, ptrace, bpf, perf_event_open, key management, io_uring, userfaultfd, setns and unshare
    fail with EPERM. Returns False where the architecture is unknown or the kernel refuses the filter."""
    machine = os.uname().machine
    if machine not in ARCH:
        return False
    arch, nrs = ARCH[machine]
    deny, allow = 0x00050000 | 1, 0x7FFF0000  # SECCOMP_RET_ERRNO | EPERM, SECCOMP_RET_ALLOW
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, deny), (ld, 0, 0, 0)]
    if machine == "x86_64":
        prog += [(jge, 0, 1, 0x40000000), (ret, 0, 0, deny)]  # the x32 ABI
    for nr in nrs["deny"]:
        prog += [(jeq, 0, 1, nr), (ret, 0, 0, deny)]
    prog += [(jeq, 1, 0, nrs["socket"]), (ret, 0, 0, allow), (ld, 0, 0, 16)]  # args[0]: the address family
    for family in (1, 2, 10, 16, 17) if block_inet else (1,):
        prog += [(jeq, 0, 1, family), (ret, 0, 0, deny)]
    prog.append((ret, 0, 0, allow))
    raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))

    class FProg(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = FProg(len(prog), ctypes.addressof(buf))
    return libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER


def count_processes(uid):
    n = 0
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == uid:
                n += 1
        except OSError:
            pass
    return n


def python_guards(netns, private):
    """In-interpreter guards, a second line behind the mounts: no writes outside the work dir (and the private /tmp
    and /dev/shm), no sockets without a network namespace."""
    import builtins
    import io
    import socket

    work = os.path.realpath(os.getcwd())
    allowed = [work, *private]

    def inside(path):
        try:
            real = os.path.realpath(os.path.join(work, os.fsdecode(path)))
        except (TypeError, ValueError):
            return True
        return real == "/dev/null" or any(real == top or real.startswith(top + os.sep) for top in allowed)

    def guard_open(original):
        def opener(file, mode="r", *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)) and any(c in str(mode) for c in "wax+") and not inside(file):
                raise PermissionError(f"sandbox: writing outside the working directory is not allowed: {file}")
            return original(file, mode, *args, **kwargs)
        return opener

    os_open = os.open

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC) and not inside(path):
            raise PermissionError(f"sandbox: writing outside the working directory is not allowed: {path}")
        return os_open(path, flags, *args, **kwargs)

    builtins.open = io.open = guard_open(io.open)
    os.open = guarded_os_open
    if not netns:
        class NoSocket(socket.socket):
            def __init__(self, *args, **kwargs):
                raise PermissionError("sandbox: network access is not allowed")

        def no_connection(*args, **kwargs):
            raise PermissionError("sandbox: network access is not allowed")

        socket.socket = NoSocket
        socket.create_connection = no_connection
    return builtins


def setup():
    global REPORT_FD
    REPORT_FD = os.open(cfg["report"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    lim(resource.RLIMIT_CORE, 0)
    # soft below hard: the kernel sends SIGXCPU at the soft limit (reported as a timeout), SIGKILL a second later
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cfg["cpu"]), int(cfg["cpu"]) + 1))
    except (ValueError, OSError):
        pass
    lim(resource.RLIMIT_FSIZE, int(cfg["fsize"]))
    lim(resource.RLIMIT_NOFILE, int(cfg["nofile"]))
    join_cgroups()
    root = os.geteuid() == 0
    flags = enter_namespaces(root)
    if flags & NEWPID:
        become_init()
    else:
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans stay in our tree (for the memory watchdog)
    if flags & NEWNS:
        build_mounts(os.getcwd())
    # root in a user namespace of its own stays uid 0 on the host: its capabilities go, but not its uid
    report["privilege_drop"] = drop_privileges(root and not flags & NEWUSER) and not (root and flags & NEWUSER)
    netns = bool(flags & NEWNET)
    report["isolation"] = "netns" if netns else "socket-guard"
    # RLIMIT_NPROC counts a user's processes: ours alone in a user namespace or under our own uid, else all of them
    counted = not root and not flags & NEWUSER
    lim(resource.RLIMIT_NPROC, int(cfg["nproc"]) + (count_processes(os.getuid()) if counted else 0))
    lim(resource.RLIMIT_AS, int(cfg["mem"]))
    report["no_new_privs"] = libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS: setuid binaries give nothing
    report["unix_socket_block"] = report["no_new_privs"] and seccomp(block_inet=not netns)
    missing = [k for k in cfg.get("need", "").split(",") if k and not report.get(k)]
    os.write(REPORT_FD, json.dumps(report).encode())
    os.close(REPORT_FD)
    if missing and cfg.get("require") == "strict":
        os._exit(97)
    private = [d for d, key in (("/tmp", "private_tmp"), ("/dev/shm", "private_dev_shm")) if report.get(key)]
    return python_guards(netns, private)


builtins = setup()
# a PID namespace's init ignores signals it has no handler for, SIGXCPU included: exit as the signal would
signal.signal(signal.SIGXCPU, lambda *_: os._exit(128 + signal.SIGXCPU))
cfg.clear()  # nothing of the set-up is left for the program to read
report.clear()
path = "program.py"
with open(path, encoding="utf-8") as f:
    source = f.read()
sys.argv = [path]
code = compile(source, path, "exec")
exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": builtins})  # noqa: S102 (the point)
