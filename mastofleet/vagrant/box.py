"""The Vagrant box `mastofleet/trixie64` for vagrant-lxc, built from the local fleet's Debian 13 base.

Nothing is downloaded: the base (`mastofleet local up` builds it with debootstrap from this machine's
own mirror) is copied, never changed, and given what Vagrant expects of a box: a `vagrant` user with
Vagrant's well-known insecure key (Vagrant swaps it for a key of its own on the first `vagrant up`)
and sudo without a password. The box is rebuilt only when the base, the mirror's addresses or this
recipe change.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from mastofleet.local.filesystem import remove_tree, write_file
from mastofleet.local.machines import base_directory
from mastofleet.local.mirror import MirrorHost
from mastofleet.vagrant.errors import VagrantFleetError

BOX_NAME = "mastofleet/trixie64"
# Raise when the customisation below changes, so existing boxes are rebuilt.
RECIPE_VERSION = 1
BASE_FINGERPRINT = Path("usr/share/mastofleet/base-fingerprint")
VAGRANT_UID = 1000
DIRECTORY_VARIABLE = "MASTOFLEET_VAGRANT_DIRECTORY"

# What vagrant-lxc adds to each container's configuration (after LXC's defaults and before the
# Vagrantfile's customisations, which give the network).
LXC_CONFIG = """\
# mastofleet/trixie64: a Debian 13 system container whose own systemd is PID 1.
lxc.include = /usr/share/lxc/config/common.conf
# This machine's kernel has no AppArmor, so LXC's generated profile cannot be loaded.
lxc.apparmor.profile = unconfined
# The host's cgroup hierarchies, writable, so systemd in the container can manage its services.
lxc.mount.auto = proc:mixed sys:mixed cgroup:rw:force
lxc.autodev = 1
"""

SUDOERS = "# Vagrant logs in as vagrant and needs root without a password.\nvagrant ALL=(ALL) NOPASSWD: ALL\n"


def work_directory() -> Path:
    """Where boxes are built (never under the local fleet's own directory, which is not ours)."""
    return Path(os.environ.get(DIRECTORY_VARIABLE, "/var/tmp/mastofleet-vagrant"))


def insecure_public_key() -> str:
    """Vagrant's own insecure public key, as the installed vagrant package ships it."""
    for path in sorted(Path("/usr/share/rubygems-integration/all/gems").glob("vagrant-*/keys/vagrant.pub")):
        return path.read_text().strip()
    vagrant = shutil.which("vagrant")
    raise VagrantFleetError(
        "Vagrant's insecure key (keys/vagrant.pub) was not found"
        + ("" if vagrant else " and vagrant is not installed")
        + "; install Debian's vagrant package (scripts/install does)."
    )


def fingerprint(base: Path, mirror_hosts: tuple[MirrorHost, ...]) -> str:
    """What the box is made of: the base's own fingerprint, the mirror's addresses, this recipe."""
    base_print = (base / BASE_FINGERPRINT).read_text().strip() if (base / BASE_FINGERPRINT).is_file() else ""
    hosts = sorted((host.name, host.addresses) for host in mirror_hosts)
    text = json.dumps([RECIPE_VERSION, base_print, hosts, insecure_public_key()])
    return hashlib.sha256(text.encode()).hexdigest()


def box_path(work: Path) -> Path:
    return work / "mastofleet-trixie64-lxc.box"


def fingerprint_path(work: Path) -> Path:
    return work / "box-fingerprint"


def render_hosts(mirror_hosts: tuple[MirrorHost, ...]) -> str:
    """localhost and the mirror's host names: the containers get no DNS, like the local hosts."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{host.addresses[0]}\t{host.name}" for host in mirror_hosts if host.addresses]
    return "\n".join(lines) + "\n"


def copy_base(base: Path, rootfs: Path) -> None:
    """A copy of the base through tar, which only reads it (numeric owners, so ids stay the base's)."""
    rootfs.mkdir(parents=True)
    reader = subprocess.Popen(["tar", "--numeric-owner", "-C", str(base), "-cf", "-", "."], stdout=subprocess.PIPE)
    writer = subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-xf", "-"], stdin=reader.stdout, check=False)
    if reader.stdout:
        reader.stdout.close()
    if reader.wait() != 0 or writer.returncode != 0:
        raise VagrantFleetError(
            f"copying the base image {base} into {rootfs} failed; is there room in {rootfs.parent}?"
        )


def add_vagrant_user(rootfs: Path) -> None:
    """The `vagrant` account with the insecure key and password-less sudo."""
    completed = subprocess.run(
        [
            "chroot",
            str(rootfs),
            "useradd",
            "--create-home",
            "--shell",
            "/bin/bash",
            "--uid",
            str(VAGRANT_UID),
            "vagrant",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise VagrantFleetError(f"useradd vagrant in the box failed: {completed.stderr.strip()}")
    ssh_directory = rootfs / "home/vagrant/.ssh"
    ssh_directory.mkdir(mode=0o700)
    write_file(ssh_directory / "authorized_keys", insecure_public_key() + "\n", mode=0o600)
    for path in (ssh_directory, ssh_directory / "authorized_keys"):
        os.chown(path, VAGRANT_UID, VAGRANT_UID)
    write_file(rootfs / "etc/sudoers.d/vagrant", SUDOERS, mode=0o440)


def customise(rootfs: Path, mirror_hosts: tuple[MirrorHost, ...]) -> None:
    """From a local-fleet host template to a Vagrant box."""
    add_vagrant_user(rootfs)
    # The local fleet's key lets root in to its hosts; a box has no business carrying it.
    (rootfs / "root/.ssh/authorized_keys").unlink(missing_ok=True)
    write_file(rootfs / "etc/hosts", render_hosts(mirror_hosts))
    write_file(rootfs / "etc/hostname", "trixie64\n")


def pack(staging: Path, box: Path) -> None:
    """rootfs.tar.gz (entries under ./rootfs/, as vagrant-lxc's template strips two components),
    then the box: an uncompressed tar of the metadata, the LXC configuration and the rootfs."""
    metadata = {"provider": "lxc", "version": "1.0.0", "built-on": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    write_file(staging / "metadata.json", json.dumps(metadata) + "\n")
    write_file(staging / "lxc-config", LXC_CONFIG)
    compressor = "pigz" if shutil.which("pigz") else "gzip -1"
    steps = [
        [
            "tar",
            "--numeric-owner",
            "-I",
            compressor,
            "-C",
            str(staging),
            "-cf",
            str(staging / "rootfs.tar.gz"),
            "./rootfs",
        ],
        ["tar", "-C", str(staging), "-cf", str(box), "metadata.json", "lxc-config", "rootfs.tar.gz"],
    ]
    for step in steps:
        completed = subprocess.run(step, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise VagrantFleetError(f"`{' '.join(step)}` failed: {completed.stderr.strip()}")


def box_is_added() -> bool:
    listed = subprocess.run(
        ["vagrant", "box", "list", "--machine-readable"], capture_output=True, text=True, check=False
    )
    return any(line.split(",")[2:4] == ["box-name", BOX_NAME] for line in listed.stdout.splitlines())


def add_box(box: Path) -> None:
    completed = subprocess.run(
        ["vagrant", "box", "add", "--force", "--name", BOX_NAME, str(box)], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise VagrantFleetError(f"`vagrant box add` failed: {(completed.stderr or completed.stdout).strip()}")


def ensure_box(mirror_hosts: tuple[MirrorHost, ...], *, rebuild: bool = False) -> tuple[bool, float]:
    """Build and add the box unless the added one is already current; (whether it was built, seconds)."""
    base = base_directory()
    if not (base / "usr/bin/systemctl").exists():
        raise VagrantFleetError(f"no Debian 13 base image at {base}; `mastofleet local up` builds it.")
    work = work_directory()
    wanted = fingerprint(base, mirror_hosts)
    recorded = fingerprint_path(work)
    if not rebuild and recorded.is_file() and recorded.read_text().strip() == wanted and box_is_added():
        return False, 0.0
    started = time.monotonic()
    staging = work / "staging"
    remove_tree(staging)
    copy_base(base, staging / "rootfs")
    customise(staging / "rootfs", mirror_hosts)
    pack(staging, box_path(work))
    remove_tree(staging)
    add_box(box_path(work))
    write_file(recorded, wanted + "\n")
    return True, time.monotonic() - started
