"""The code-execution sandbox: correct programs pass, adversarial ones fail within the timeout and nothing escapes."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest

from evalray.scoring.sandbox import (
    Limits,
    SandboxUnavailable,
    run_program,
    run_programs,
)
from tests.unit.sandbox_runners import (
    Unavailable,
    run_as_self,
    skip_without_userns,
    user_runner,
)

LIMITS = Limits(timeout_s=4, cpu_s=4)


def _run(program: str):
    start = time.monotonic()
    result = run_program(program, LIMITS)
    assert time.monotonic() - start < LIMITS.timeout_s + 5
    return result


def test_passing_and_failing_programs():
    assert _run("import math, json, collections\nassert math.sqrt(4) == 2\nprint('ok')").status == "passed"
    failed = _run("assert 1 == 2")
    assert failed.status == "failed" and "AssertionError" in failed.stderr


def test_infinite_loop_times_out():
    assert _run("while True:\n    pass").status == "timeout"


def test_cpu_seconds_limit_reads_as_a_timeout():
    result = run_program("while True:\n    pass", Limits(timeout_s=20, cpu_s=1))
    assert result.status == "timeout" and result.duration_s < 10 and "CPU seconds" in result.stderr


@pytest.fixture
def marker(monkeypatch):
    """A temp dir of this test's own: every process of its sandboxes carries it on its command line."""
    path = tempfile.mkdtemp(prefix="evalray-sbx-mark-")
    os.chmod(path, 0o777)
    monkeypatch.setattr(tempfile, "tempdir", path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _leftovers(marker: str) -> list[str]:
    time.sleep(0.5)
    return [p for p in os.listdir("/proc") if p.isdigit() and marker in _cmdline(p)]


def test_fork_bomb_is_contained(marker):
    result = _run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass")
    assert result.status in ("timeout", "failed")
    assert not _leftovers(marker)  # none of the sandbox's processes survives


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def test_process_count_is_limited():
    program = ("import os, time\nn = 0\ntry:\n    while n < 1000:\n        if os.fork() == 0:\n            time.sleep(2)\n"
               "            os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nassert n < 1000, n\n")
    assert _run(program).status == "passed"


def test_huge_allocation_fails():
    result = _run("x = bytearray(10 * 2**30)\nprint(len(x))")
    assert result.status == "failed" and "MemoryError" in result.stderr


@pytest.mark.parametrize("how", [
    "open({path!r}, 'w').write('escaped')",
    "import os\nfd = os.open({path!r}, os.O_CREAT | os.O_WRONLY)\nos.write(fd, b'escaped')",
    "import ctypes\nlibc = ctypes.CDLL(None)\nfd = libc.open({path!r}.encode(), 0o101, 0o644)\nassert fd >= 0\nlibc.write(fd, b'x', 1)",
])
def test_writing_outside_the_work_dir_fails(tmp_path, how):
    target = tmp_path / "escaped.txt"
    assert _run(how.format(path=str(target))).status == "failed"
    assert not target.exists()


def test_writing_inside_the_work_dir_works_and_file_size_is_limited():
    assert _run("open('a.txt', 'w').write('x')\nassert open('a.txt').read() == 'x'").status == "passed"
    result = _run("f = open('big', 'wb')\nfor _ in range(100):\n    f.write(b'x' * 2**20)")
    assert result.status == "failed"


def test_work_dir_is_empty_and_removed():
    result = _run("import os\nprint(os.getcwd())\nprint(sorted(os.listdir('.')))")
    cwd, listing = result.stdout.splitlines()
    assert listing == "['program.py']"
    assert not Path(cwd).exists()


def test_socket_to_localhost_fails():
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        result = _run(f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')")
        assert result.status == "failed" and "connected" not in result.stdout
        assert result.isolation in ("netns", "socket-guard")
    finally:
        server.close()


def test_environment_secret_is_not_readable(monkeypatch):
    monkeypatch.setenv("EVALRAY_TEST_SECRET", "hunter2-secret")
    program = (
        "import os\nassert 'EVALRAY_TEST_SECRET' not in os.environ\n"
        "for pid in os.listdir('/proc'):\n    if pid.isdigit():\n        try:\n"
        "            data = open(f'/proc/{pid}/environ', 'rb').read()\n        except OSError:\n            continue\n"
        "        assert b'hunter2-secret' not in data, pid\nprint('clean')"
    )
    result = _run(program)
    assert result.status == "passed" and "clean" in result.stdout


def test_run_programs_in_parallel_threads():
    results = run_programs(["assert True", "assert False", "while True: pass"], LIMITS, use_ray=False)
    assert [r.status for r in results] == ["passed", "failed", "timeout"]


# --- every escape, as root and as an unprivileged user ------------------------------------------------------------
# Each target is one the running uid could reach without the sandbox (the test checks that first where it can), so
# each test fails if the sandbox lets the program through.

ESCAPE_LIMITS = Limits(timeout_s=10, cpu_s=10, require="best_effort")
WRITE_WAYS = {
    "open": "open({path!r}, 'w').write('escaped')",
    "FileIO": "import _io\n_io.FileIO({path!r}, 'w').write(b'escaped')",
    "os.system": "import os\nassert os.system('echo escaped > {path}') == 0",
    "subprocess": "import subprocess\nsubprocess.run(['sh', '-c', 'echo escaped > {path}'], check=True)",
    "ctypes": "import ctypes\nlibc = ctypes.CDLL(None)\nassert libc.open({path!r}.encode(), 0o101, 0o644) >= 0",
}


@pytest.fixture(scope="module")
def place():
    """A directory on the host's root filesystem (not /tmp) that any user may write: 'outside', a project and a home."""
    try:
        base = Path(tempfile.mkdtemp(prefix="evalray-sbx-escape-", dir="/" if os.geteuid() == 0 else None))
    except OSError:  # a read-only / (a container): the default temp dir (then private in the sandbox too)
        base = Path(tempfile.mkdtemp(prefix="evalray-sbx-escape-"))
    for sub in ("outside", "project", "home"):
        (base / sub).mkdir()
    for path in (base, *base.iterdir()):
        path.chmod(0o777)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["root", "user"])
def who(request, place, monkeypatch, marker):
    """(name, runner, marker): 'root' runs in this process (skipped unless root), 'user' as an unprivileged user."""
    monkeypatch.chdir(place / "project")
    monkeypatch.setenv("HOME", str(place / "home"))
    if request.param == "root":
        if os.geteuid() != 0:
            pytest.skip("these tests run as an unprivileged user; the root case needs root")
        return "root", run_as_self, marker
    run, _ = user_runner(place / "project", place / "home", tmpdir=marker)
    skip_without_userns(run)
    return "user", run, marker


def _targets(place: Path, tag: str) -> dict[str, Path]:
    return {"tmp": Path(f"/tmp/evalray-escape-{tag}"), "dev_shm": Path(f"/dev/shm/evalray-escape-{tag}"),
            "outside": place / "outside" / f"escape-{tag}", "project": place / "project" / f"escape-{tag}",
            "dev": Path(f"/dev/evalray-escape-{tag}")}


def test_writes_outside_the_work_dir_are_contained(who, place):
    name, run, _marker = who
    targets = _targets(place, f"{name}-{os.getpid()}")
    cases = [(where, way, path) for where, path in targets.items() for way in WRITE_WAYS]
    programs = [WRITE_WAYS[way].format(path=str(path) + f".{way}") for _, way, path in cases]
    try:
        results = run(programs, ESCAPE_LIMITS)
        # /tmp and /dev/shm are private (writable, gone afterwards); the rest is read-only or masked
        escaped = [f"{where} via {way}" for (where, way, path), r in zip(cases, results)
                   if Path(str(path) + f".{way}").exists() or (r.passed and where not in ("tmp", "dev_shm"))]
        assert not escaped, escaped
    finally:
        for _, way, path in cases:
            Path(str(path) + f".{way}").unlink(missing_ok=True)


def test_ram_backed_files_do_not_outlive_the_program(who):
    name, run, _marker = who
    tag = f"evalray-fill-{name}-{os.getpid()}"
    fill = (f"import os\nfor d in ('/dev', '/dev/shm', '/tmp'):\n    try:\n        with open(d + '/{tag}', 'wb') as f:\n"
            "            f.write(b'x' * 2**20)\n    except OSError as e:\n        print(d, 'refused', e)\n")
    try:
        run([fill], ESCAPE_LIMITS)
        assert not [d for d in ("/dev", "/dev/shm", "/tmp") if Path(d, tag).exists()]
    finally:
        for d in ("/dev", "/dev/shm", "/tmp"):
            Path(d, tag).unlink(missing_ok=True)


def _unix_server(path: str) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    if not path.startswith("\0"):
        os.chmod(path, 0o777)
    server.listen(8)
    server.settimeout(0.2)
    return server


CONNECT_WAYS = {
    "socket": "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({path!r})\nprint('connected')",
    "_socket": "import _socket\ns = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)\ns.connect({path!r})\n"
               "print('connected')",
    "nc": "import subprocess\nsubprocess.run(['python3', '-c', 'import socket; s=socket.socket(socket.AF_UNIX); "
          "s.connect(%r); print(\"connected\")' % {path!r}], check=True)",
}


def test_filesystem_and_abstract_unix_sockets_are_unreachable(who, place):
    name, run, _marker = who
    paths = [str(place / "outside" / f"s-{name}"), f"/tmp/evalray-sbx-s-{name}-{os.getpid()}",
             f"\0evalray-sbx-{name}-{os.getpid()}"]
    servers = [_unix_server(p) for p in paths]
    try:
        for path in paths:  # reachable without the sandbox
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(path)
        for server in servers:
            server.accept()[0].close()
        programs = [way.format(path=p) for p in paths for way in CONNECT_WAYS.values()]
        results = run(programs, ESCAPE_LIMITS)
        assert not [p for p, r in zip(programs, results) if r.passed or "connected" in r.stdout]
        for server in servers:
            with pytest.raises(socket.timeout):
                server.accept()
    finally:
        for server, path in zip(servers, paths):
            server.close()
            if not path.startswith("\0"):
                Path(path).unlink(missing_ok=True)


# three processes of 1 GiB each: each fits its own 2 GiB address space, the tree does not fit 2 GiB
TREE_3GIB = """import os
r, w = os.pipe()
hold_r, hold_w = os.pipe()  # the children hold their GiB until the parent exits
for _ in range(2):
    if os.fork() == 0:
        os.close(hold_w)
        x = b'x' * 2**30
        os.write(w, b'1')
        os.read(hold_r, 1)
        os._exit(0)
os.close(hold_r)
got = b''
while len(got) < 2:
    got += os.read(r, 2)
x = b'y' * 2**30
print('held 3 GiB', flush=True)
"""


def test_a_process_tree_holding_3gib_against_2gib_is_killed(who):
    _name, run, marker = who
    result = run([TREE_3GIB], Limits(timeout_s=60, cpu_s=60, memory_mb=2048, require="best_effort"))[0]
    assert result.status == "failed" and "held" not in result.stdout, result
    assert "held more than 2048 MiB" in result.stderr or "MemoryError" in result.stderr, result.stderr
    assert not _leftovers(marker)


def test_secrets_are_unreadable(who, place):
    name, run, _marker = who
    secrets_ = {"project": place / "project" / "secret.txt", "home": place / "home" / "secret.txt"}
    if name == "root":
        secrets_["root_home"] = Path("/root") / f".evalray-sbx-secret-{os.getpid()}"
    for path in secrets_.values():
        path.write_text("hunter2-secret")
        path.chmod(0o644)
    try:
        programs = [f"print(open({str(p)!r}).read())" for p in secrets_.values()]
        programs += [f"import os\nos.system('cat {p}')" for p in secrets_.values()]
        programs += ["print(open('/etc/shadow').read())", "import os\nos.system('cat /etc/shadow /etc/gshadow')"]
        results = run(programs, ESCAPE_LIMITS)
        leaked = [p for p, r in zip(programs, results) if "hunter2" in r.stdout or "root:" in r.stdout]
        assert not leaked, leaked
    finally:
        for path in secrets_.values():
            path.unlink(missing_ok=True)


def test_root_home_and_project_are_hidden_but_python_works(who, place):
    name, run, _marker = who
    program = ("import os, json, hashlib, sqlite3, tempfile\nprint(sorted(os.listdir('.')))\nprint(os.listdir(os.path.dirname("
               f"os.getcwd())))\nprint(os.listdir({str(place / 'project')!r}))\n"
               "for d in ('/tmp', '/dev/shm'):\n    open(d + '/f', 'w').write('x')\n    assert open(d + '/f').read() == 'x'\n"
               "with tempfile.NamedTemporaryFile() as f:\n    f.write(b'x')")
    (place / "project" / "visible.txt").write_text("x")
    try:
        result = run([program], ESCAPE_LIMITS)[0]
    finally:
        (place / "project" / "visible.txt").unlink()
    assert result.passed, result.stderr
    assert result.stdout.splitlines()[0] == "['program.py']"
    assert result.stdout.splitlines()[2] == "[]"
    assert not result.missing or name == "user" and result.missing == ("tree_memory_limit",), result.missing


def test_no_privileges_no_new_privileges_and_a_seccomp_filter(who):
    _name, run, _marker = who
    program = ("import os\nstatus = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())\n"
               "print(status['NoNewPrivs'].strip(), status['Seccomp'].strip(), status['Uid'].split()[0])\n"
               "assert os.system('su -c id root') != 0 and os.system('mount -t tmpfs x /tmp') != 0")
    result = run([program], ESCAPE_LIMITS)[0]
    assert result.passed, result.stderr
    no_new_privs, seccomp, uid = result.stdout.split()
    assert (no_new_privs, seccomp) == ("1", "2")
    assert uid != "0"  # root: a uid of its own; a user: unmapped (65534) in a user namespace of its own


def test_strict_refuses_in_one_line_or_runs_with_every_level(who):
    name, run, _marker = who
    try:
        result = run(["print('ran')"], Limits(timeout_s=10, require="strict"))[0]
    except (SandboxUnavailable, Unavailable) as exc:
        message = str(exc)
        assert "\n" not in message and "best_effort" in message and "memory" in message, message
        assert name == "user"  # root here has cgroups: strict must run
        return
    assert result.passed and result.missing == ()


def test_best_effort_says_what_is_missing_once():
    run, user = user_runner(Path("/"))
    if user is None:
        pytest.skip("needs root to create the unprivileged user")
    skip_without_userns(run)
    results = run(["pass", "pass", "pass"], ESCAPE_LIMITS)
    assert all(r.passed for r in results)
    if results[0].missing:
        assert run.stderr.count("sandbox: this system cannot give") == 1, run.stderr  # type: ignore[attr-defined]
