"""Run sandboxed programs as root (in this process) or as an unprivileged user (a driver process under a user that
this module creates with ``useradd`` when the tests run as root; this process itself when they do not)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from evalray.scoring.sandbox import ExecResult, Limits, run_program

REPO = Path(__file__).resolve().parents[2]
USER = "evalray-sbx-test"
Runner = Callable[[list[str], Limits], list[ExecResult]]

DRIVER = r"""
import dataclasses, json, logging, sys
logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(message)s")
from evalray.scoring.sandbox import Limits, run_program
job = json.load(sys.stdin)
out = []
for program in job["programs"]:
    try:
        out.append(dataclasses.asdict(run_program(program, Limits(**job["limits"]))))
    except Exception as exc:
        out.append({"error": f"{type(exc).__name__}: {exc}"})
print(json.dumps(out))
"""


class Unavailable(Exception):
    """The sandbox refused to run (the driver's one-line error)."""


def run_as_self(programs: list[str], limits: Limits) -> list[ExecResult]:
    return [run_program(p, limits) for p in programs]


def ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pass
    if not shutil.which("useradd"):
        pytest.skip("useradd is not available to create an unprivileged user")
    subprocess.run(["useradd", "--create-home", "--shell", "/usr/sbin/nologin", USER], check=True,
                   capture_output=True)
    return pwd.getpwnam(USER)


def user_python(user: pwd.struct_passwd) -> str:
    """A Python interpreter this user can run (the tests' own may sit in root's home)."""
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate):
            try:
                ok = subprocess.run([candidate, "-c", "import json, ctypes"], user=user.pw_uid, group=user.pw_gid,
                                    extra_groups=[], capture_output=True, cwd="/", check=False)
            except OSError:  # not executable by this user (under root's home)
                continue
            if ok.returncode == 0:
                return candidate
    pytest.skip(f"no Python interpreter that user {USER} can run")


def user_runner(cwd: Path, home: Path | None = None, tmpdir: str | None = None) -> tuple[Runner, pwd.struct_passwd | None]:
    """Programs run by a driver process of an unprivileged user, with ``cwd`` as its working (project) directory."""
    if os.geteuid() != 0:
        return run_as_self, None
    user = ensure_user()
    python = user_python(user)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home or user.pw_dir), "PYTHONPATH": str(REPO), "LANG": "C.UTF-8"}
    if tmpdir:
        env["TMPDIR"] = tmpdir
    probe = subprocess.run([python, "-c", "import evalray.scoring.sandbox"], user=user.pw_uid, group=user.pw_gid,
                           extra_groups=[], capture_output=True, cwd="/", env=env, check=False)
    if probe.returncode != 0:  # e.g. a checkout under a 0700 directory (mktemp -d): the user cannot read evalray
        pytest.skip(f"user {USER} cannot import evalray from {REPO} (a directory above it is not readable by others)")

    def run(programs: list[str], limits: Limits) -> list[ExecResult]:
        job = json.dumps({"programs": programs, "limits": asdict(limits)})
        done = subprocess.run([python, "-c", DRIVER], input=job, capture_output=True, text=True, user=user.pw_uid,
                              group=user.pw_gid, extra_groups=[], cwd=cwd, env=env, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        run.stderr = done.stderr  # type: ignore[attr-defined]
        rows = json.loads(done.stdout)
        errors = [r["error"] for r in rows if "error" in r]
        if errors:
            raise Unavailable(errors[0])
        return [ExecResult(**{**r, "missing": tuple(r["missing"])}) for r in rows]

    return run, user


def skip_without_userns(run: Runner) -> None:
    probe = run(["pass"], Limits(timeout_s=10, require="best_effort"))[0]
    if "mount_namespace" in probe.missing:
        pytest.skip("the kernel refuses user namespaces to unprivileged users: no mount namespace without root")
