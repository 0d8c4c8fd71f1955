"""A cgroup of its own for each host.

Without systemd on this machine, nspawn (with --register=no --keep-unit) uses whatever
cgroup its launcher is in; two hosts started from the same shell would share one and
trample each other's. So each host's nspawn is moved into mastofleet/<name> in every
hierarchy nspawn and the container's systemd care about before it starts. That also
gives the per-host memory figure `status` shows.
"""

import contextlib
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP = "mastofleet"

# In hybrid mode (this machine), systemd needs `unified` and `name=systemd`; `memory`
# gives the per-host usage and `pids` keeps a runaway host's fork count to itself.
HYBRID_HIERARCHIES = ("unified", "systemd", "memory", "pids")


def hierarchies() -> list[Path]:
    """The mounted hierarchies to place hosts in: the one tree on a pure cgroup2 machine."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return [CGROUP_ROOT]
    return [CGROUP_ROOT / name for name in HYBRID_HIERARCHIES if (CGROUP_ROOT / name / "cgroup.procs").exists()]


def paths(name: str) -> list[Path]:
    return [hierarchy / GROUP / name for hierarchy in hierarchies()]


def create(name: str) -> None:
    for path in paths(name):
        path.mkdir(parents=True, exist_ok=True)


def join(name: str) -> None:
    """Move the calling process into the host's cgroups (called just before exec of nspawn)."""
    for path in paths(name):
        (path / "cgroup.procs").write_text("0\n")


def processes(name: str) -> list[int]:
    """Every process of the host, nspawn included, from the first hierarchy's whole subtree."""
    found: list[int] = []
    for path in paths(name)[:1]:
        for procs in _walk(path, "cgroup.procs"):
            with contextlib.suppress(FileNotFoundError):  # the host's systemd removed it meanwhile
                found.extend(int(line) for line in procs.read_text().split())
    return found


def _walk(path: Path, pattern: str) -> list[Path]:
    """`path.rglob(pattern)`, asked again when a cgroup vanishes under the walk (the host's own
    systemd removes its cgroups as its units stop)."""
    for _ in range(5):
        try:
            return list(path.rglob(pattern))
        except FileNotFoundError:
            continue
    return list(path.rglob(pattern))


def memory_usage(name: str) -> int | None:
    """Bytes charged to the host's memory cgroup (page cache included), if it exists."""
    for hierarchy in hierarchies():
        for file_name in ("memory.usage_in_bytes", "memory.current"):
            path = hierarchy / GROUP / name / file_name
            if path.exists():
                return int(path.read_text())
    return None


def remove(name: str) -> None:
    """Remove the host's cgroups, innermost first (a cgroup goes only when it is empty)."""
    for path in paths(name):
        if not path.exists():
            continue
        children = sorted(
            (child for child in _walk(path, "*") if child.is_dir()),
            key=lambda child: len(child.parts),
        )
        for directory in [*reversed(children), path]:
            with contextlib.suppress(FileNotFoundError):  # gone already: the host's systemd removed it
                directory.rmdir()
        with contextlib.suppress(OSError):  # another host still has its cgroup there
            path.parent.rmdir()
