"""The wheel: built from the source tree, it ships the assets and only the ``embodia`` package, and works alone.

The wheel is built with ``python -m build --wheel`` from a copy of the tree (so a stale ``build/`` cannot leak
deleted files into it), without build isolation when setuptools and wheel are installed here (no download).
It is installed with ``--no-deps`` into a fresh venv whose site-packages holds a ``.pth`` line naming this
interpreter's site-packages: the dependencies resolve without a download, while embodia itself can come only from
the wheel (the editable install's ``.pth`` hook in this interpreter's site-packages is not run through a path line).

Part of the normal suite: no marker, about 10 s.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROBOT_ASSET = "embodia/assets/robots/panda.xml"
# Not needed to build the wheel; some are large or hold build leftovers.
SKIPPED_AT_ROOT = {".git", ".venv", "venv", "build", "dist", "runs", "docs", "tests", "experiments"}
SKIPPED_ANYWHERE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache", ".ruff_cache")
TIMEOUT_S = 300

SMOKE_SCRIPT = textwrap.dedent(
    """
    import os
    import sys

    import embodia

    assert "torch" not in sys.modules, "import embodia imported torch"
    prefix = os.path.realpath(sys.argv[1]) + os.sep
    location = os.path.realpath(embodia.__file__)
    assert location.startswith(prefix), f"embodia came from {location}, not from the wheel in {prefix}"

    import gymnasium as gym

    env = gym.make("embodia/BinPicking-v0")
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(10):
        env.step(env.action_space.sample())
    env.close()
    print("wheel ok:", location)
    """
)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited with {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def build_backend_installed() -> bool:
    """setuptools>=69 and wheel are importable here, so the build needs no isolated environment (no download)."""
    try:
        major = int(metadata.version("setuptools").split(".")[0])
        metadata.version("wheel")
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return major >= 69


def ignore_for_copy(directory: str, names: list[str]) -> set[str]:
    ignored = set(SKIPPED_ANYWHERE(directory, names))
    if Path(directory).resolve() == ROOT:
        ignored |= SKIPPED_AT_ROOT & set(names)
    return ignored


def parent_site_packages() -> list[str]:
    paths = [*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]
    if site.ENABLE_USER_SITE:
        paths.append(site.getusersitepackages())
    unique = dict.fromkeys(os.path.realpath(p) for p in paths)
    return [p for p in unique if os.path.isdir(p)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("build") is None:
        pytest.fail("the 'build' package is missing: install the dev extra (make test does: pip install -e '.[dev]')")
    work = tmp_path_factory.mktemp("wheel")
    source, out = work / "src", work / "dist"
    shutil.copytree(ROOT, source, ignore=ignore_for_copy, symlinks=True)
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out)]
    if build_backend_installed():
        command.append("--no-isolation")
    run([*command, str(source)], cwd=work, env=clean_env())
    wheels = sorted(out.glob("embodia-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, found {wheels}"
    return wheels[0]


def test_wheel_ships_assets_and_only_the_embodia_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert ROBOT_ASSET in names
    for page in ("index.html", "episode.html", "compare.html", "gallery.js", "plots.js", "style.css"):
        assert f"embodia/review/static/{page}" in names, f"the review site's {page} is missing from the wheel"
    top_level = {name.split("/", 1)[0] for name in names}
    assert not {"envs", "agents", "assets"} & top_level, f"stray top-level packages in the wheel: {sorted(top_level)}"
    dist_info = {name for name in top_level if name.endswith(".dist-info")}
    assert top_level - dist_info == {"embodia"}, f"unexpected top-level entries: {sorted(top_level)}"
    for package in ("embodia/envs/", "embodia/agents/", "embodia/assets/"):
        assert any(name.startswith(package) for name in names), f"{package} is missing from the wheel"


def test_wheel_installs_and_runs_without_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    parents = parent_site_packages()
    Path(purelib, "_parent_site_packages.pth").write_text("".join(f"{p}\n" for p in parents))

    run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        env=clean_env(),
    )
    neutral = tmp_path / "elsewhere"
    neutral.mkdir()
    result = run([str(python), "-c", SMOKE_SCRIPT, str(env_dir)], cwd=neutral, env=clean_env())
    assert "wheel ok" in result.stdout, result.stdout
