"""Fuzzed job files are refused quickly, in one line naming the file, with exit code 2.

A seeded mutator derives 1,200 job files from ``configs/*.yaml`` and the job in README.md. Every mutation is one the
schema forbids by construction (an unknown key, a mapping where a scalar or a model belongs, NaN / infinity / 1e30 /
10**30 / -1 in place of any value, an unsafe or 2 MB name, a closed-set field given something outside it, a required
key removed, an alias bomb, nesting 40 levels deep, bytes that are not UTF-8, a NUL, a document over 1 MiB, an unset
``${VAR}``, a file that is not a mapping), so the oracle is simple: each file goes through the real entry point
(``evalray.cli.main.main`` with ``evalray validate FILE``, in process) and must exit 2 with exactly one line on stderr,
naming the file, no traceback, within a per-file time limit. The unmutated files must validate (exit 0), so the
oracle is not vacuous; a handful of the nastiest files also go through a real subprocess
(tests/cli/test_cli_job_fuzz.py).
"""

from __future__ import annotations

import contextlib
import copy
import io
import random
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FILES = 1200
PER_FILE_S = 5.0
FREE_FORM = {"runtime_env", "engine", "extra_body", "headers"}  # mappings of anything: nothing there is forbidden
CLOSED_SETS = {"backend": "torchy", "dtype": "fp17", "api": "soap", "mode": "guess", "arrival": "weird",
               "kind": "quiz", "engine": "llama.cpp"}
BAD_NAMES = ["../escape", "a/b", "..", ".hidden", "white space", "tab\tname", "new\nline", "bell\x07", "",
             "x" * 129, "/abs", "a\\b", "ünï"]
HUGE = "<a 2 MB name>"
BAD_NUMBERS = [float("nan"), float("inf"), float("-inf"), 1e30, 10**30, -1]


def base_jobs() -> list[tuple[str, dict[str, Any]]]:
    jobs = [(path.name, yaml.safe_load(path.read_text())) for path in sorted((ROOT / "configs").glob("*.yaml"))]
    readme = (ROOT / "README.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "models:" in b]
    jobs.append(("README.md", yaml.safe_load(blocks[0])))
    return jobs


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path below ``node``, except inside free-form mappings."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        path = prefix + (key,)
        found.append(path)
        if key not in FREE_FORM:
            found.extend(paths(value, path))
    return found


def put(job: dict, path: tuple, value: Any) -> dict:
    job = copy.deepcopy(job)
    node = job
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return job


def mappings(job: dict) -> list[tuple]:
    return [()] + [p for p in paths(job) if isinstance(_at(job, p), dict) and p[-1] not in FREE_FORM]


def _at(job: Any, path: tuple) -> Any:
    for key in path:
        job = job[key]
    return job


def _dump(job: Any) -> bytes:
    return yaml.safe_dump(job, allow_unicode=True, sort_keys=False).encode()


# ---- mutations: each returns the bytes of a job file the schema forbids -----------------------------------------
def unknown_key(job: dict, rng: random.Random) -> bytes:
    where = rng.choice(mappings(job))
    target = _at(job, where) if where else job
    return _dump(put(job, where + ("zz_not_a_key",), 1) if where else {**target, "zz_not_a_key": 1})


def mapping_instead(job: dict, rng: random.Random) -> bytes:
    return _dump(put(job, rng.choice([p for p in paths(job) if p[-1] not in FREE_FORM]), {"zz_not_a_key": 1}))


def bad_number(job: dict, rng: random.Random) -> bytes:
    return _dump(put(job, rng.choice(paths(job)), rng.choice(BAD_NUMBERS)))


def bad_name(job: dict, rng: random.Random) -> bytes:
    names = [("name",)] + [p + ("name",) for p in paths(job) if p[:1] == ("models",) and len(p) == 2]
    value = rng.choice(BAD_NAMES + [HUGE])
    if value is HUGE:  # dumping 2 MB through PyYAML's emitter takes a second: splice the string in
        return _dump(put(job, rng.choice(names), "HUGE_NAME")).replace(b"HUGE_NAME", b"n" * 2_000_000)
    return _dump(put(job, rng.choice(names), value))


def closed_set(job: dict, rng: random.Random) -> bytes:
    candidates = [p for p in paths(job) if p[-1] in CLOSED_SETS and not isinstance(_at(job, p), dict)]
    if not candidates:
        return _dump(put(job, ("kind",), CLOSED_SETS["kind"]))
    path = rng.choice(candidates)
    return _dump(put(job, path, CLOSED_SETS[path[-1]]))


def drop_required(job: dict, rng: random.Random) -> bytes:
    job = copy.deepcopy(job)
    required = [k for k in ("models", "benchmarks", "target") if k in job]
    key = rng.choice(required + ["models.0.source"] if "models" in job else required)
    if key == "models.0.source":
        del job["models"][0]["source"]
    else:
        del job[key]
    return _dump(job)


def alias_bomb(job: dict, rng: random.Random) -> bytes:
    """Billion laughs: 9**levels strings from a file of a few hundred bytes."""
    levels = rng.randint(6, 12)
    lines = ['x_a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"x_a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    target = rng.choice(["description", "seed", "output"])
    job = {k: v for k, v in job.items() if k != target}
    return _dump(job) + ("\n".join(lines) + f"\n{target}: *a{levels - 1}\n").encode()


def deep_nesting(job: dict, rng: random.Random) -> bytes:
    depth = rng.choice([40, 200, 5000])
    key = rng.choice(["description", "runtime_env", "zz_deep"])
    return _dump(job) + f"{key}: {'[' * depth}1{']' * depth}\n".encode()


def not_utf8(job: dict, rng: random.Random) -> bytes:
    data = bytearray(_dump(job))
    at = rng.randrange(len(data))
    data[at:at] = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80\x80", b"\xfe\xff"])
    return bytes(data)


def nul_byte(job: dict, rng: random.Random) -> bytes:
    data = bytearray(_dump(job))
    data.insert(rng.randrange(len(data)), 0)
    return bytes(data)


def huge_document(job: dict, rng: random.Random) -> bytes:
    size = rng.choice([1_100_000, 2_000_000])
    return _dump(put(job, ("description",), "HUGE_TEXT")).replace(b"HUGE_TEXT", b"d" * size)


def unset_variable(job: dict, rng: random.Random) -> bytes:
    strings = [p for p in paths(job) if isinstance(_at(job, p), str) and p[0] not in FREE_FORM]
    return _dump(put(job, rng.choice(strings), "${EVALRAY_FUZZ_NO_SUCH_VARIABLE}"))


def not_a_mapping(job: dict, rng: random.Random) -> bytes:
    return rng.choice([b"", b"   \n", b"- a\n- b\n", b"42\n", b"just text\n", b"~\n", b"[1, 2\n", b"a: [\n",
                       b"{a: 1, a: }\n: :\n", b"!!python/object:os.system {}\n", b"a: !!binary zz\n"])


MUTATIONS: list[Callable[[dict, random.Random], bytes]] = [
    unknown_key, mapping_instead, bad_number, bad_number, bad_name, closed_set, drop_required, alias_bomb,
    deep_nesting, not_utf8, nul_byte, unset_variable, not_a_mapping, mapping_instead, unknown_key,
]


class CachedApp:
    """The evalray typer app with its click command built once (typer rebuilds it on every call, 0.1 s), called as
    ``main`` calls the app; argument parsing, the command and ``main``'s error handling are the real ones."""

    def __init__(self) -> None:
        import typer.main

        from evalray.cli import main as cli

        self.command = typer.main.get_command(cli.app)

    def __call__(self, standalone_mode: bool = False) -> Any:
        return self.command.main(args=sys.argv[1:], prog_name="evalray", standalone_mode=standalone_mode)


@pytest.fixture(autouse=True)
def _cached_app(monkeypatch):
    from evalray.cli import main as cli

    monkeypatch.setattr(cli, "app", CachedApp())


def run_validate(path: Path) -> tuple[int, str, float]:
    """``evalray validate PATH`` through the real entry point, in this process, under a time limit."""
    from evalray.cli.main import main

    def hang(signum, frame):
        raise TimeoutError(f"evalray validate {path} took more than {PER_FILE_S} s")

    stdout, stderr = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, PER_FILE_S)
    started = time.perf_counter()
    code: Any = 0
    argv = sys.argv
    try:
        sys.argv = ["evalray", "validate", str(path)]
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            main()
    except SystemExit as exc:
        code = exc.code
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.argv = argv
    return code, stderr.getvalue(), time.perf_counter() - started


def check_refused(path: Path, code: Any, err: str, took: float, what: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, f"{what}: {path.name} exit {code!r} (accepted something the schema forbids?) {err[:300]!r}"
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), f"{what}: {err[:300]!r}"
    assert "Traceback" not in err and len(lines[0]) < 1000, f"{what}: {err[:300]!r}"
    assert took < PER_FILE_S, f"{what}: {took:.1f} s"


def test_the_unmutated_jobs_validate(tmp_path):
    for name, job in base_jobs():
        path = tmp_path / f"{name}.yaml"
        path.write_bytes(_dump(job))
        code, err, _ = run_validate(path)
        assert code in (0, None), f"{name}: {err}"


def test_a_thousand_mutated_jobs_are_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("EVALRAY_FUZZ_NO_SUCH_VARIABLE", raising=False)
    rng = random.Random(20261201)
    jobs = base_jobs()
    started, counts = time.perf_counter(), {}
    for i in range(FILES):
        name, job = jobs[i % len(jobs)]
        mutate = MUTATIONS[rng.randrange(len(MUTATIONS))] if i % 60 else huge_document
        path = tmp_path / f"fuzz-{i:04d}.yaml"
        path.write_bytes(mutate(job, rng))
        code, err, took = run_validate(path)
        check_refused(path, code, err, took, f"{mutate.__name__} of {name}")
        counts[mutate.__name__] = counts.get(mutate.__name__, 0) + 1
        path.unlink()
    assert len(counts) == len(set(m.__name__ for m in MUTATIONS)) + 1  # every mutation was tried
    assert time.perf_counter() - started < 90


def test_unreadable_files_name_the_file(tmp_path):
    directory = tmp_path / "a-directory.yaml"
    directory.mkdir()
    code, err, took = run_validate(directory)
    assert code == 2 and str(directory) in err and len(err.strip().splitlines()) == 1
    missing = tmp_path / "missing.yaml"
    code, err, _ = run_validate(missing)
    assert code == 2 and str(missing) in err
