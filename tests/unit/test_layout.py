"""The tests mirror the package: every test file is named after the evalray package it tests
(``test_<package>_<what>.py``), tests/unit holds only in-process tests (no subprocess, no real data: those live in
tests/cli and tests/data), and the shared helpers (``free_port``, ``shared_data``) exist once, in tests/conftest.py.

Files still to be renamed or moved by the engineers who own them are listed below; an entry that is done fails the
test until it is removed, so the lists only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
PACKAGE = TESTS.parent / "evalray"
WHOLE_PROJECT = {"test_imports.py", "test_layout.py"}  # tests about evalray as a whole
NOT_IN_UNIT = {"subprocess": "a subprocess", "run_cli": "the CLI in a subprocess",
               "mock_server_process": "the mock server in a subprocess", "shared_data": "real data",
               "SHARED_DATA": "real data"}
SHARED_HELPERS = {"free_port", "shared_data"}

# test files of benchmarks, models, hf/tokenization, pipeline, serving, results and dashboard: their owners rename
# them (e.g. test_bench_bbh.py -> test_benchmarks_bbh.py, test_hf_backend.py -> test_models_hf.py)
NAMES_TO_DO: set[str] = set()
# in tests/unit but launching the CLI or reading the real data: to move to tests/cli or tests/data
MOVES_TO_DO: set[str] = set()
# own copies of a conftest helper
COPIES_TO_DO: set[str] = set()


def all_test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "__pycache__" not in p.parts)


def key(path: Path) -> str:
    return path.relative_to(TESTS).as_posix()


def packages() -> set[str]:
    return {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}


def named_after_a_package(path: Path, names: set[str]) -> bool:
    stem = path.stem.removeprefix("test_")
    return path.name in WHOLE_PROJECT or any(stem == n or stem.startswith(n + "_") for n in names)


def names_used(path: Path) -> set[str]:
    """Modules imported, names imported and names called or passed in (fixtures are parameters) in a test file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            used.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            used.update(alias.name for alias in node.names)
        elif isinstance(node, ast.arg):
            used.add(node.arg)
    return used


def defined_helpers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return {n.name.lstrip("_") for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)} & SHARED_HELPERS


def _check(found: set[str], to_do: set[str], what: str) -> None:
    new = sorted(found - to_do)
    assert not new, f"{what}: {new}"
    done = sorted(k for k in to_do - found if (TESTS / k).is_file())  # a file not there yet (or moved) is no news
    assert not done, f"done, remove from the to-do list in tests/unit/test_layout.py: {done}"


def test_test_files_are_named_after_their_package():
    names = packages()
    wrong = {key(p) for p in all_test_files() if not named_after_a_package(p, names)}
    _check(wrong, NAMES_TO_DO, f"name test files test_<package>_<what>.py, <package> one of {sorted(names)}")


def test_unit_tests_run_in_process_without_real_data():
    found = {key(p) for p in (TESTS / "unit").glob("test_*.py") if names_used(p) & set(NOT_IN_UNIT)}
    _check(found, MOVES_TO_DO, "tests/unit is for in-process tests; move these to tests/cli or tests/data")


def test_free_port_and_shared_data_exist_only_in_conftest():
    found = {key(p) for p in all_test_files() if defined_helpers(p)}
    _check(found, COPIES_TO_DO, "use tests.conftest's free_port / shared_data instead of a copy")
    conftest = defined_helpers(TESTS / "conftest.py")
    assert conftest == SHARED_HELPERS, conftest


def test_the_checks_see_what_they_claim(tmp_path):
    bad = tmp_path / "test_x.py"
    bad.write_text("import subprocess\n\ndef _free_port():\n    return 0\n\ndef test_a(shared_data):\n    pass\n")
    assert {"subprocess", "shared_data"} <= names_used(bad) and defined_helpers(bad) == {"free_port"}
    assert not named_after_a_package(Path("test_bench_x.py"), {"benchmarks"})
    assert named_after_a_package(Path("test_benchmarks_x.py"), {"benchmarks"})
