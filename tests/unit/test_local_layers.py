"""The local hosts' layers and package cache, on this machine's file system without booting a host:
the overlay stack nspawn is given, how a host's own file is found through snapshot layers and
whiteouts, and that seeding and collecting packages are hard links, never copies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mastofleet.local import package_cache
from mastofleet.local.launcher import nspawn_command
from mastofleet.local.machines import STATE_DIRECTORY_VARIABLE, base_directory, machine_files, package_cache_directory


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(STATE_DIRECTORY_VARIABLE, str(tmp_path))
    return tmp_path


def overlay_option(name: str) -> str:
    (option,) = [argument for argument in nspawn_command(name) if argument.startswith("--overlay=")]
    return option.removeprefix("--overlay=")


def test_without_a_snapshot_the_host_is_the_base_and_its_upper_dir(state: Path) -> None:
    assert overlay_option("nixie") == f"{base_directory()}:{machine_files('nixie').upper}:/"


def test_snapshot_layers_sit_between_the_base_and_the_upper_dir_oldest_lowest(state: Path) -> None:
    files = machine_files("nixie")
    for number in (0, 1, 10, 2):
        (files.layers / str(number)).mkdir(parents=True)
    (files.layers / "not-a-layer").mkdir()
    layers = ":".join(str(files.layers / str(number)) for number in (0, 1, 2, 10))
    assert overlay_option("nixie") == f"{base_directory()}:{layers}:{files.upper}:/"


def test_a_file_is_found_in_the_highest_layer_that_holds_it(state: Path) -> None:
    files = machine_files("freud")
    for layer, text in ((files.layers / "0", "old"), (files.layers / "1", "newer")):
        (layer / "etc").mkdir(parents=True)
        (layer / "etc/passwd").write_text(text)
    files.upper.mkdir()
    assert files.find("etc/passwd") == files.layers / "1/etc/passwd"
    (files.upper / "etc").mkdir()
    (files.upper / "etc/passwd").write_text("newest")
    assert files.find("etc/passwd") == files.upper / "etc/passwd"
    assert files.find("etc/shadow") is None


def test_a_whiteout_hides_the_file_below_it(state: Path) -> None:
    files = machine_files("freud")
    (files.layers / "0/etc").mkdir(parents=True)
    (files.layers / "0/etc/passwd").write_text("gone")
    (files.upper / "etc").mkdir(parents=True)
    (files.upper / "etc/passwd").symlink_to("/dev/null")  # anything that is not a file stops the search
    assert files.find("etc/passwd") is None


def test_packages_are_collected_and_seeded_as_hard_links(state: Path) -> None:
    layer = machine_files("nixie").layers / "0"
    archives = layer / package_cache.ARCHIVES
    archives.mkdir(parents=True)
    (archives / "redis_8.0_amd64.deb").write_bytes(b"redis")
    (archives / "lock").write_bytes(b"")
    (archives / "partial").mkdir()
    assert package_cache.collect([layer]) == 1
    assert package_cache.collect([layer]) == 0  # already there
    cached = package_cache_directory() / "redis_8.0_amd64.deb"
    assert sorted(path.name for path in package_cache_directory().iterdir()) == ["redis_8.0_amd64.deb"]
    assert os.stat(cached).st_ino == os.stat(archives / "redis_8.0_amd64.deb").st_ino

    upper = machine_files("fritz").upper
    assert package_cache.seed(upper) == 1
    seeded = upper / package_cache.ARCHIVES / "redis_8.0_amd64.deb"
    assert seeded.read_bytes() == b"redis" and os.stat(seeded).st_ino == os.stat(cached).st_ino


def test_an_empty_cache_seeds_nothing_and_creates_nothing(state: Path) -> None:
    upper = machine_files("fritz").upper
    assert package_cache.seed(upper) == 0
    assert not upper.exists()
