"""Writing files into image trees, and removing trees without reaching into mounts."""

import os
import shutil
import subprocess
from pathlib import Path

from mastofleet.local.errors import LocalFleetError

MOUNT_TABLE = Path("/proc/self/mountinfo")


def write_file(path: Path, content: str, mode: int = 0o644) -> None:
    """Write ``content`` to ``path`` (creating parents) with exactly ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(mode)


def mounts_below(directory: Path) -> list[Path]:
    """Mount points at or under ``directory``, deepest first (the order to unmount them)."""
    root = os.path.realpath(directory)
    found = []
    for line in MOUNT_TABLE.read_text().splitlines():
        # Field 5 is the mount point, with spaces and the like escaped as octal.
        mount_point = line.split()[4].encode().decode("unicode_escape")
        if mount_point == root or mount_point.startswith(root + "/"):
            found.append(Path(mount_point))
    return sorted(found, key=lambda path: len(path.parts), reverse=True)


def remove_tree(directory: Path) -> None:
    """Delete ``directory``, first unmounting anything mounted inside it.

    An interrupted debootstrap can leave /proc or /sys mounted in its target; deleting
    through such a mount would delete from the live system, so unmount first.
    """
    if not directory.exists() and not directory.is_symlink():
        return
    for mount_point in mounts_below(directory):
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)
    remaining = mounts_below(directory)
    if remaining:
        raise LocalFleetError(
            f"refusing to delete {directory}: {remaining[0]} is still mounted; "
            f"unmount it (umount -l {remaining[0]}) and try again."
        )
    shutil.rmtree(directory)
