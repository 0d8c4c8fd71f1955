"""The built wheel works on its own: installed into a fresh virtual environment outside the
repository, it checks and renders a copy of the example project that has no templates/, exactly as
the checkout renders it, and a template the project holds overrides the shipped one.

To stay fast the environment borrows this one's dependencies (a .pth line naming this
site-packages), but mastofleet itself comes only from the wheel: that is asserted, not assumed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from fleet_builder import REPO

INVENTORY = "inventories/hetzner.py"
# The example project as an operator has it: no templates/, no mastofleet sources.
PROJECT_FILES = ("inventories/hetzner.py", "inventories/hetzner.state.json", "deploy.py", "config.py")
PROJECT_DIRECTORIES = ("group_data", "secrets")
# What the build needs from the checkout; built from a copy so stale build/ files never reach the wheel.
SOURCES = ("pyproject.toml", "README.md", "mastofleet", "templates")
JOURNALD = "base/journald.conf.j2"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path
    site_packages: Path

    @property
    def mastofleet(self) -> Path:
        return self.python.with_name("mastofleet")


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _environment() -> dict[str, str]:
    """This process's environment without what would point the new one elsewhere (or at real secrets)."""
    cleaned = {
        key: value
        for key, value in os.environ.items()
        if key != "PYTHONPATH" and not key.startswith(("MASTOFLEET_", "HCLOUD_", "VIRTUAL_ENV"))
    }
    return {**cleaned, "MASTOFLEET_HETZNER_OFFLINE": "1"}


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True, check=False)
    assert completed.returncode == 0, f"{' '.join(command)} failed:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
    return completed


def _package_names() -> set[str]:
    """The packages of mastofleet/, as directories with an __init__.py."""
    package = REPO / "mastofleet"
    return {
        ".".join(path.parent.relative_to(REPO).parts)
        for path in package.rglob("__init__.py")
        if "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(root / "dist"), str(source)], root)
    (wheel,) = (root / "dist").glob("mastofleet-*.whl")

    environment = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(environment)], root)
    python = environment / "bin" / "python"
    site_packages = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], root).stdout.strip())
    # The dependencies from this environment; a path line only: its .pth files (mastofleet's
    # editable install among them) are not run, so they cannot bring the checkout in.
    (site_packages / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index", str(wheel)], root)
    return Installed(wheel, python, site_packages)


def _project(directory: Path) -> Path:
    for name in PROJECT_FILES:
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, directory / name)
    for name in PROJECT_DIRECTORIES:
        shutil.copytree(REPO / name, directory / name)
    return directory


@pytest.fixture(scope="module")
def repository_render(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    output = tmp_path_factory.mktemp("repository-render")
    _run([str(Path(sys.executable).with_name("mastofleet")), "render", INVENTORY, str(output)], REPO)
    return _files(output)


def test_every_package_of_mastofleet_is_listed_for_the_build() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    missing = _package_names() - listed
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml, or the wheel lacks them"
    assert listed - _package_names() == {"mastofleet.templates"}


def test_the_wheel_ships_the_templates_and_the_agents_but_no_test_helpers(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    shipped = {name.removeprefix("mastofleet/templates/") for name in names if name.startswith("mastofleet/templates/")}
    assert shipped == set(_files(REPO / "templates"))
    assert "mastofleet/agents/media_edge/writeback.py" in names
    assert not [name for name in names if "/testing/" in name or name.startswith(("tests/", "support/"))]


def test_mastofleet_comes_from_the_wheel_only(installed: Installed, tmp_path: Path) -> None:
    located = _run(
        [str(installed.python), "-c", "import mastofleet.views.templating as t; print(t.__file__); print(t.TEMPLATE_DIRECTORY)"],
        tmp_path,
    ).stdout.split()
    assert located == [
        str(installed.site_packages / "mastofleet" / "views" / "templating.py"),
        str(installed.site_packages / "mastofleet" / "templates"),
    ]


def test_the_installed_wheel_checks_the_example_project(installed: Installed, tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    _run([str(installed.mastofleet), "check", INVENTORY], project)


def test_the_installed_wheel_renders_the_example_project_as_the_checkout_does(
    installed: Installed, repository_render: dict[str, bytes], tmp_path: Path
) -> None:
    project = _project(tmp_path / "project")
    _run([str(installed.mastofleet), "render", INVENTORY, str(tmp_path / "rendered")], project)
    assert _files(tmp_path / "rendered") == repository_render


def test_a_template_in_the_project_overrides_the_shipped_one(
    installed: Installed, repository_render: dict[str, bytes], tmp_path: Path
) -> None:
    project = _project(tmp_path / "project")
    override = project / "templates" / JOURNALD
    override.parent.mkdir(parents=True)
    override.write_text("# the project's journald settings\n[Journal]\nStorage=volatile\n")
    _run([str(installed.mastofleet), "render", INVENTORY, str(tmp_path / "rendered")], project)

    rendered = _files(tmp_path / "rendered")
    changed = {name for name in rendered if rendered[name] != repository_render.get(name)}
    hosts = {Path(name).parts[0] for name in rendered}
    assert changed == {f"{host}/etc/systemd/journald.conf.d/50-mastofleet.conf" for host in hosts}
    assert all(rendered[name] == override.read_bytes() for name in changed)
    assert rendered.keys() == repository_render.keys()
