"""The wheel is the whole service: every app file, migration, template and static file, the
LICENSE and the `hookhub` command, and it runs from site-packages without the checkout."""

from __future__ import annotations

import configparser
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Top-level packages that are not HookHub itself.
NOT_SHIPPED = {"tests", "bench"}
# What a checkout has beside the sources: never copied into the build.
BUILD_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.pyc",
    "build",
    "dist",
    "*.egg-info",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "db.sqlite3*",
    "staticfiles",
)


def source_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def app_packages() -> list[Path]:
    return sorted(
        init.parent for init in ROOT.glob("*/__init__.py") if init.parent.name not in NOT_SHIPPED
    )


def expected_wheel_paths() -> set[str]:
    """Every file the service needs, as the wheel must name it (from the source tree)."""
    expected = set()
    for package in app_packages():
        expected |= {path.relative_to(ROOT).as_posix() for path in source_files(package)}
    # Shipped inside the hookhub package (pyproject.toml's package-dir).
    for folder in ("templates", "static"):
        for path in source_files(ROOT / folder):
            expected.add(f"hookhub/{folder}/{path.relative_to(ROOT / folder).as_posix()}")
    return expected


def run(args: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{args}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # --no-build-isolation builds offline with the venv's setuptools (the test extra has it).
    setuptools = importlib.metadata.version("setuptools")
    if int(setuptools.split(".")[0]) < 77:
        pytest.fail(f"setuptools {setuptools} is too old for pyproject.toml: run `make install`")
    # A copy, so no stale build/ in the checkout can add (or hide) files.
    source = tmp_path_factory.mktemp("source") / "hookhub"
    shutil.copytree(ROOT, source, ignore=BUILD_IGNORE)
    out = tmp_path_factory.mktemp("dist")
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--quiet", "-w", str(out), str(source)],
        timeout=300,
        cwd=source,
    )
    (built,) = out.glob("hookhub-*.whl")
    return built


def test_wheel_holds_every_app_file_migration_template_and_static_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())

    expected = expected_wheel_paths()
    assert {p.name for p in app_packages()} >= {"hookhub", "subscriptions", "deliveries"}
    assert any("/migrations/0001_" in path for path in expected)
    assert "hookhub/templates/base.html" in expected
    # A new subpackage goes into [tool.setuptools] packages; new data into package-data.
    assert sorted(expected - names) == [], "missing from the wheel: see pyproject.toml"
    assert [n for n in names if n.split("/")[0] in NOT_SHIPPED] == []


def test_wheel_metadata_has_license_console_script_and_no_bare_requests(wheel):
    archive = zipfile.ZipFile(wheel)
    dist_info = next(n.split("/")[0] for n in archive.namelist() if ".dist-info/" in n)

    license_text = archive.read(f"{dist_info}/licenses/LICENSE").decode()
    assert license_text == (ROOT / "LICENSE").read_text()
    metadata = HeaderParser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
    assert metadata["License-Expression"] == "MIT"

    entry_points = configparser.ConfigParser()
    entry_points.read_string(archive.read(f"{dist_info}/entry_points.txt").decode())
    assert entry_points["console_scripts"]["hookhub"] == "hookhub.__main__:main"

    requirements = [Requirement(line) for line in metadata.get_all("Requires-Dist")]
    assert any(r.name == "Django" and r.marker is None for r in requirements)
    requests = [r for r in requirements if r.name == "requests"]
    assert requests and all("extra" in str(r.marker) for r in requests), requests


def test_installed_wheel_runs_from_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site-packages"
    run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet"]
        + ["--target", str(target), str(wheel)],
        timeout=120,
    )
    # -S: no site, so neither the checkout's editable install nor its .pth files are on the
    # path; the dependencies come from this venv's site-packages, HookHub only from `target`.
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(elsewhere),
        "PYTHONPATH": os.pathsep.join([str(target), *sorted(dependencies)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "SECRET_KEY": "wheel-test-" + "x" * 50,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hookhub.sqlite3'}",
    }
    python = [sys.executable, "-S"]
    options = {"cwd": elsewhere, "env": env, "timeout": 120}

    # The console script pip wrote from the entry point, and `python -m hookhub`.
    run([*python, str(target / "bin" / "hookhub"), "check"], **options)
    run([*python, "-m", "hookhub", "migrate", "--noinput", "-v", "0"], **options)
    probe = (
        "import json, hookhub\n"
        "from django.contrib.staticfiles import finders\n"
        "from django.template.loader import get_template\n"
        "print(json.dumps({'package': hookhub.__file__,"
        " 'template': get_template('base.html').origin.name,"
        " 'static': finders.find('hookhub/hookhub.css')}))"
    )
    shell = run([*python, "-m", "hookhub", "shell", "-v", "0", "-c", probe], **options)
    found = {key: Path(path).resolve() for key, path in json.loads(shell.stdout).items()}

    shipped = target.resolve() / "hookhub"
    assert found == {
        "package": shipped / "__init__.py",
        "template": shipped / "templates" / "base.html",
        "static": shipped / "static" / "hookhub" / "hookhub.css",
    }
