"""The wheel works outside the checkout: it carries the shipped recording and the app's stylesheet,
and the code finds the recording as package data, not beside the source tree."""

import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from engine.paths import demo_recording
from engine.recording.reader import Recording
from engine.task.hanoi import total_steps

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
                                    ".hypothesis", ".benchmarks", "*.maker-wal", "*.maker-shm", "*.maker-journal")
"""What a build from the checkout must not see: a stale ``build/`` would slip old files into the wheel."""


def _why_no_offline_build():
    """None when setuptools can build a wheel without the network (``--no-build-isolation``)."""
    try:
        setuptools = version("setuptools")
    except PackageNotFoundError:
        return "setuptools is not installed"
    if tuple(int(part) for part in setuptools.split(".")[:2] if part.isdigit()) >= (70, 1):
        return None
    try:
        version("wheel")
    except PackageNotFoundError:
        return f"setuptools {setuptools} builds wheels only with the 'wheel' package: pip install 'setuptools>=70.1'"
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel, built from a copy of the checkout so that the build leaves nothing in it."""
    if why := _why_no_offline_build():
        pytest.skip(why)
    work = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, work / "source", ignore=NOT_SOURCE)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(work / "source"), "--no-deps", "--no-build-isolation",
                            "--quiet", "--disable-pip-version-check", "-w", str(work / "out")],
                           check=False, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (built,) = (work / "out").glob("maker-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """The wheel installed on its own, away from the checkout (its dependencies come from here)."""
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", wheel.filename, "--no-deps", "--quiet",
                           "--disable-pip-version-check", "--target", str(target)], check=False, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    return target


def test_the_wheel_carries_the_shipped_recording_byte_for_byte(wheel):
    assert wheel.read("recordings/demo-10.maker") == (ROOT / "recordings" / "demo-10.maker").read_bytes()
    assert "recordings/__init__.py" in wheel.namelist()


def test_the_wheel_carries_the_stylesheet_and_the_engines_data(wheel):
    names = set(wheel.namelist())
    assert {"tui/app.tcss", "engine/data/prices.toml", "engine/data/paper_models.toml"} <= names
    assert not any(name.startswith(("tests/", "docs/")) for name in names)


def test_the_demo_recording_is_found_as_package_data_and_opens():
    path = demo_recording()
    assert path.samefile(ROOT / "recordings" / "demo-10.maker")
    with Recording.open(path) as recording:
        assert len(recording) == total_steps(recording.meta.run.disks) == 1023


def test_the_installed_wheel_finds_its_recording_outside_the_checkout(installed, tmp_path):
    """From another folder, with the installed copy first on the path: the recording it finds is
    the installed one, and the installed command line replays it (an export of its last step)."""
    env = {"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    found = subprocess.run([sys.executable, "-c", "from engine.paths import demo_recording; print(demo_recording())"],
                           check=False, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert found.returncode == 0, found.stderr
    path = Path(found.stdout.strip())
    assert path.is_relative_to(installed) and path.read_bytes() == (ROOT / "recordings" / "demo-10.maker").read_bytes()
    exported = subprocess.run([sys.executable, "-m", "tui", "export", str(path), "--steps", "1023"], check=False,
                              capture_output=True, text=True, cwd=tmp_path, env=env)
    assert exported.returncode == 0 and '"step":1023' in exported.stdout.replace(" ", ""), exported.stderr


def test_python_dash_m_tui_is_the_whole_maker_command():
    result = subprocess.run([sys.executable, "-m", "tui", "--version"], check=False, capture_output=True, text=True, cwd=ROOT)
    assert (result.returncode, result.stdout.strip()) == (0, f"maker {version('maker')}"), result.stderr
