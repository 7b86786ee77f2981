"""The code-execution sandbox: correct programs pass, adversarial ones fail within the timeout and nothing escapes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from evalray.scoring.sandbox import Limits, run_program, run_programs

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


def test_fork_bomb_is_contained():
    result = _run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass")
    assert result.status in ("timeout", "failed")
    time.sleep(0.5)
    # every sandbox process carries its work dir ("evalray-sbx-...") on its command line: none may survive
    leftovers = [p for p in os.listdir("/proc") if p.isdigit() and "evalray-sbx-" in _cmdline(p)]
    assert not leftovers


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
