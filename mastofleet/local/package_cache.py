"""One cache of downloaded Debian packages for every local host, kept across boots.

apt keeps what it downloads in /var/cache/apt/archives and takes a package from there when its
size and hash match the index, so a fresh host seeded with the packages other hosts already
fetched downloads nothing twice. The packages still come only from this machine's own apt
sources: the cache holds nothing a host did not fetch from them.

The cache is a directory of this machine, beside the hosts' overlays on the same file system,
so seeding and collecting are hard links: no copy, and a .deb is never changed in place (apt
writes a new file and renames it). A shared mount would be simpler but makes every host's apt
take the same lock file, so their installs would wait for each other or fail.
"""

import os
from collections.abc import Iterable
from pathlib import Path

from mastofleet.local.machines import package_cache_directory

ARCHIVES = Path("var/cache/apt/archives")


def _packages(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return [path for path in directory.iterdir() if path.suffix == ".deb" and path.is_file() and not path.is_symlink()]


def _link(source: Path, target: Path) -> bool:
    """Hard-link ``source`` to ``target`` unless ``target`` exists; True when it linked."""
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    return True


def seed(upper: Path) -> int:
    """Put every cached package into a new host's archive directory; how many."""
    cached = _packages(package_cache_directory())
    if not cached:
        return 0
    archives = upper / ARCHIVES
    archives.mkdir(parents=True, exist_ok=True)
    return sum(_link(package, archives / package.name) for package in cached)


def collect(layers: Iterable[Path]) -> int:
    """Keep the packages that hosts downloaded into their layers; how many were new."""
    cache = package_cache_directory()
    cache.mkdir(parents=True, exist_ok=True)
    added = 0
    for layer in layers:
        for package in _packages(layer / ARCHIVES):
            added += _link(package, cache / package.name)
    return added
