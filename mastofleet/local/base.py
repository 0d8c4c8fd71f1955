"""The shared Debian 13 (trixie) base image: the read-only lower layer of every host.

Built once with debootstrap from this machine's own mirror and kept across `down`; only
`down --purge` deletes it. It is built in a temporary directory and renamed into place
when complete, so an interrupted build never leaves a half image behind.
"""

import hashlib
import json
import time
from pathlib import Path

from mastofleet.local.errors import LocalFleetError
from mastofleet.local.filesystem import remove_tree, write_file
from mastofleet.local.machines import base_directory
from mastofleet.local.mirror import Mirror
from mastofleet.local.process import run_checked

SUITE = "trixie"

# What makes a container a normal host for the fleet's deploys: an init, SSH for pyinfra
# and testinfra, python3 for pyinfra's facts, and the small tools operators and the
# deploys expect on any Debian server.
PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "libpam-systemd",
    "openssh-server",
    "python3",
    "iproute2",
    "ca-certificates",
    "sudo",
    "locales",
    "procps",
    "iputils-ping",
    "curl",
    "gnupg",
    "netcat-openbsd",
    "less",
    "xz-utils",
)

# Raise when the customisation below changes, so existing bases are rebuilt.
RECIPE_VERSION = 1

# Inside the image, so the fingerprint is renamed into place together with it.
FINGERPRINT_FILE = Path("usr/share/mastofleet/base-fingerprint")

CHROOT_ENVIRONMENT = (
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    "DEBIAN_FRONTEND=noninteractive",
    "LANG=C.UTF-8",
    "HOME=/root",
)

# sshd refuses to start without host keys, and the base must have none (every host
# would share them). Debian's sshd-keygen.service runs only on a "first boot", which
# systemd detects by an empty machine-id, and each host gets its machine-id before it
# boots: so generate missing keys before sshd's own configuration check.
SSH_HOST_KEYS_DROP_IN = """\
# Host keys are not in the shared base image; each host makes its own when it first boots.
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
"""


def fingerprint(mirror: Mirror, public_key: str) -> str:
    """Everything the image is made from; when any of it changes, the image is stale."""
    recipe = {
        "suite": SUITE,
        "packages": PACKAGES,
        "recipe": RECIPE_VERSION,
        "archive": mirror.archive_uri,
        "security": mirror.security_uri,
        "key": public_key,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def is_current(mirror: Mirror, public_key: str) -> bool:
    """True when the base exists and was built from today's recipe, mirror and key."""
    stamp = base_directory() / FINGERPRINT_FILE
    return stamp.is_file() and stamp.read_text().strip() == fingerprint(mirror, public_key)


def ensure_base(mirror: Mirror, public_key: str, running_hosts: list[str]) -> None:
    """Build the base unless a current one exists; never touch it under running hosts."""
    if is_current(mirror, public_key):
        return
    exists = base_directory().exists()
    if running_hosts:
        if not exists:
            raise LocalFleetError(
                f"{base_directory()} is gone while {', '.join(running_hosts)} run on it; "
                "run `mastofleet local down` and then `up` to rebuild it."
            )
        # The base is the lowerdir of their overlays: changing it under them is undefined.
        print(
            "warning: the base image is out of date (recipe, mirror or key changed) but hosts "
            "run on it; keeping it. Run `down` and `up` to rebuild.",
            flush=True,
        )
        return
    reason = "its recipe, mirror or key changed" if exists else "it does not exist yet"
    print(
        f"building the {SUITE} base image ({reason}); this takes about a minute",
        flush=True,
    )
    started = time.monotonic()
    build(mirror, public_key)
    print(f"base image built in {time.monotonic() - started:.0f} s", flush=True)


def build(mirror: Mirror, public_key: str) -> None:
    """debootstrap and customise into a temporary directory, then rename it into place."""
    target = base_directory().with_name("base.building")
    remove_tree(target)  # the remains of an interrupted build
    try:
        bootstrap(target, mirror)
        customise(target, mirror, public_key)
        write_file(target / FINGERPRINT_FILE, fingerprint(mirror, public_key) + "\n")
        remove_tree(base_directory())
        target.rename(base_directory())
    finally:
        remove_tree(target)


def bootstrap(target: Path, mirror: Mirror) -> None:
    """A minimal trixie with the fleet's packages, straight from this machine's mirror."""
    run_checked(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            "--components=main",
            SUITE,
            str(target),
            mirror.archive_uri,
        ],
        fix=(
            f"check that {mirror.archive_uri} serves {SUITE} (apt-get update on this machine) "
            "and that debootstrap knows it (apt-get install debootstrap); then run `up` again."
        ),
        timeout=1800,
    )


def chroot(target: Path, *command: str) -> None:
    """Run ``command`` inside the image being built, with a clean environment."""
    run_checked(
        ["chroot", str(target), "env", "-i", *CHROOT_ENVIRONMENT, *command],
        fix=f"the base image build failed inside its chroot; delete {target} and run `up` again.",
        timeout=600,
    )


def customise(target: Path, mirror: Mirror, public_key: str) -> None:
    """Turn the bootstrapped tree into a host template: apt, SSH, identity, services."""
    write_apt_sources(target, mirror)
    write_file(
        target / "etc/dpkg/dpkg.cfg.d/unsafe-io",
        "# Containers on a scratch disk: no fsync storms.\nforce-unsafe-io\n",
    )
    write_ssh_access(target, public_key)
    forget_identity(target)
    write_file(target / "etc/locale.gen", "en_US.UTF-8 UTF-8\n")
    write_file(target / "etc/default/locale", "LANG=C.UTF-8\n")
    chroot(target, "locale-gen")
    chroot(target, "systemctl", "enable", "systemd-networkd.service", "ssh.service")
    # Nothing here waits for "network online", and with a static address it only delays boot.
    chroot(target, "systemctl", "mask", "systemd-networkd-wait-online.service")
    # apt's daily timers would take the dpkg lock in the middle of a deploy or a test.
    chroot(target, "systemctl", "mask", "apt-daily.timer", "apt-daily-upgrade.timer")
    # apt needs DNS only for this update; debootstrap copied this machine's resolv.conf in.
    chroot(target, "apt-get", "update", "-q")
    chroot(target, "apt-get", "clean")
    # The hosts get no DNS: names come from /etc/hosts, which each host gets at boot.
    write_file(target / "etc/resolv.conf", "")


def apt_entry(uri: str, suites: str, keyring: Path) -> str:
    """One deb822 paragraph for Debian's `main`."""
    return f"Types: deb\nURIs: {uri}\nSuites: {suites}\nComponents: main\nSigned-By: {keyring}\n"


def write_apt_sources(target: Path, mirror: Mirror) -> None:
    """trixie, trixie-updates and trixie-security, from the mirror this machine uses."""
    keyring = next(
        path
        for path in (
            Path("/usr/share/keyrings/debian-archive-keyring.pgp"),
            Path("/usr/share/keyrings/debian-archive-keyring.gpg"),
        )
        if (target / path.relative_to("/")).exists()
    )
    entries = [apt_entry(mirror.archive_uri, f"{SUITE} {SUITE}-updates", keyring)]
    if mirror.security_uri:
        entries.append(apt_entry(mirror.security_uri, f"{SUITE}-security", keyring))
    write_file(target / "etc/apt/sources.list.d/debian.sources", "\n".join(entries))
    (target / "etc/apt/sources.list").unlink(missing_ok=True)


def write_ssh_access(target: Path, public_key: str) -> None:
    """Root logs in with the harness key only; host keys are made per host at first boot."""
    ssh_directory = target / "root/.ssh"
    ssh_directory.mkdir(mode=0o700, exist_ok=True)
    write_file(ssh_directory / "authorized_keys", public_key + "\n", mode=0o600)
    for host_key in (target / "etc/ssh").glob("ssh_host_*"):
        host_key.unlink()
    write_file(
        target / "etc/systemd/system/ssh.service.d/host-keys.conf",
        SSH_HOST_KEYS_DROP_IN,
    )
    write_file(
        target / "etc/ssh/sshd_config.d/mastofleet-local.conf",
        "PasswordAuthentication no\n",
    )


def forget_identity(target: Path) -> None:
    """No machine-id in the base: each host's overlay gets its own (pitfall 2 of the notes)."""
    write_file(target / "etc/machine-id", "", mode=0o444)
    dbus_id = target / "var/lib/dbus/machine-id"
    if dbus_id.is_file() and not dbus_id.is_symlink():
        dbus_id.unlink()
