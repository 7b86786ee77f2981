"""The isolated Python environment OpenCompass runs in, created on demand and cached.

OpenCompass (:data:`OPENCOMPASS_VERSION`, pinned) requires ``numpy<2`` and ``datasets<4``, which evalray's own
environment must not get. The environment is a virtualenv under ``<cache>/opencompass/<version>-<key>`` (default
cache ``~/.cache/evalray``, or ``$EVALRAY_CACHE``) that *inherits* evalray's site-packages after its own (a ``.pth``
line), so the large wheels evalray already has (torch, transformers, ray, evalray itself) are reused and only what
OpenCompass pins differently (numpy, datasets, pyarrow, scikit-learn, mmengine-lite, ...) is installed into it. pip never
uninstalls the inherited packages (they are outside the environment). A finished environment carries a ``READY``
marker and is reused by later runs without calling pip; a second run installs nothing.

Ray runs each OpenCompass task with ``runtime_env={"py_executable": <env>/bin/python}``: its worker is that
interpreter, with numpy 1.x and datasets 3.x, while the driver and every other worker keep evalray's environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Iterator

from evalray.errors import BackendError

OPENCOMPASS_VERSION = "0.5.4"
# what OpenCompass pins that evalray's environment has otherwise; everything else it needs and evalray has is inherited
# (pyarrow: evalray's is built for numpy 2 only; datasets 3 needs pyarrow>=15)
REQUIREMENTS = (f"opencompass=={OPENCOMPASS_VERSION}", "numpy<2", "datasets>=2.12,<4", "pyarrow>=15,<21")
READY = "READY"
INSTALL_TIMEOUT_S = 1800.0


def cache_root() -> Path:
    return Path(os.environ.get("EVALRAY_CACHE") or Path.home() / ".cache" / "evalray") / "opencompass"


def base_site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


def env_key() -> str:
    """What the environment depends on: the requirements, this interpreter, and the inherited site-packages."""
    text = "\n".join((*REQUIREMENTS, sys.executable, sys.version, base_site_packages()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def env_dir(root: str | None = None) -> Path:
    return (Path(root).expanduser() if root else cache_root()) / f"{OPENCOMPASS_VERSION}-{env_key()}"


def env_python(path: Path) -> Path:
    return path / "bin" / "python"


def is_ready(path: Path) -> bool:
    return (path / READY).is_file() and env_python(path).exists()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_env(root: str | None = None, timeout_s: float = INSTALL_TIMEOUT_S) -> Path:
    """The ready environment (created and installed on first use, under a file lock); a :class:`BackendError` of one
    line when it cannot be installed. Returns the environment's directory."""
    path = env_dir(root)
    if is_ready(path):
        return path
    with _locked(path):
        if is_ready(path):
            return path
        started = time.monotonic()
        log = path.parent / f"{path.name}.install.log"
        try:
            _create(path, log, timeout_s)
        except subprocess.TimeoutExpired:
            raise BackendError(f"could not install OpenCompass {OPENCOMPASS_VERSION}: pip ran over {timeout_s:.0f} s "
                               f"(log: {log})") from None
        except subprocess.CalledProcessError:
            raise BackendError(f"could not install OpenCompass {OPENCOMPASS_VERSION} into {path}: "
                               f"{_last_error(log)} (log: {log})") from None
        except OSError as exc:
            raise BackendError(f"could not create the OpenCompass environment {path}: {exc}") from None
        (path / READY).write_text(f"{OPENCOMPASS_VERSION} installed in {time.monotonic() - started:.0f} s\n")
    return path


def _create(path: Path, log: Path, timeout_s: float) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)  # a half-made environment from an interrupted install
    with open(log, "w") as out:
        def step(*command: str) -> None:
            out.write("$ " + " ".join(command) + "\n")
            out.flush()
            subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=timeout_s,
                           env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})

        step(sys.executable, "-m", "venv", "--without-pip", str(path))  # evalray's pip installs into it
        purelib = subprocess.run([str(env_python(path)), "-c", "import sysconfig;print(sysconfig.get_paths()"
                                  "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
        # after the environment's own site-packages: its numpy/datasets win, torch & co. come from evalray's
        Path(purelib, "zz_evalray_base.pth").write_text(f"import site; site.addsitedir({base_site_packages()!r})\n")
        step(sys.executable, "-m", "pip", "--python", str(env_python(path)), "install", "--no-input", *REQUIREMENTS)
        step(str(env_python(path)), "-c", "import numpy, datasets, opencompass; print(numpy.__version__, "
             "datasets.__version__, opencompass.__version__)")


def _last_error(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "pip failed"
    for line in reversed(lines):
        if line.startswith("ERROR:") or "Error" in line.split(":")[0]:
            return line[:300]
    return lines[-1][:300] if lines else "pip failed"


def dataset_configs(path: Path) -> dict[str, Path]:
    """Every dataset config the environment's OpenCompass ships, by name (``siqa_gen`` -> its file), read from the
    files without importing OpenCompass."""
    found: dict[str, Path] = {}
    for root in sorted(path.glob("lib/python*/site-packages/opencompass/configs/datasets")):
        for file in sorted(root.glob("**/*.py")):
            if file.stem != "__init__":
                found.setdefault(file.stem, file)
    return found


def check_datasets(path: Path, names: list[str]) -> None:
    """A :class:`ConfigError` of one line for a dataset config name this OpenCompass does not have."""
    from evalray.errors import ConfigError, did_you_mean

    known = dataset_configs(path)
    for name in names:
        if name not in known:
            raise ConfigError(f"opencompass.datasets: OpenCompass {OPENCOMPASS_VERSION} has no dataset config "
                              f"'{name}'{did_you_mean(name, list(known))}")
