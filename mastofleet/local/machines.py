"""The table of local machines and where their state lives on this machine.

``inventories/local.py`` imports ``MACHINES``, ``ssh_key_path`` and ``ssh_config_path``
from here, so these names are part of the package's interface: keep them stable.
"""

import os
from dataclasses import dataclass
from pathlib import Path

BRIDGE = "mf0"
GATEWAY = "10.77.0.1"
PREFIX_LENGTH = 24
NETWORK = f"10.77.0.0/{PREFIX_LENGTH}"

DEFAULT_STATE_DIRECTORY = Path("/var/lib/mastofleet/local")
# Files of the state directory that a deploy may change (`secrets rotate` writes the secrets) and a
# snapshot therefore keeps with the hosts' layers.
SNAPSHOT_FILES: tuple[str, ...] = ("secrets.json",)
STATE_DIRECTORY_VARIABLE = "MASTOFLEET_LOCAL_STATE"


@dataclass(frozen=True)
class Machine:
    """One local host: its name (also its hostname) and its address on the bridge."""

    name: str
    address: str


MACHINES: dict[str, Machine] = {
    machine.name: machine
    for machine in (
        Machine("nixie", "10.77.0.11"),
        Machine("freud", "10.77.0.12"),
        Machine("fritz", "10.77.0.13"),
        Machine("franz", "10.77.0.14"),
        # The edge host: the nginx caching proxy in front of the core.
        Machine("esme", "10.77.0.15"),
        # Belongs to no role: tests probe the fleet from here, as the outside world would.
        Machine("outsider", "10.77.0.16"),
        # The old Postgres primary of a migration scenario; booted only when named.
        Machine("alice", "10.77.0.17"),
        # A fifth app host for scaling scenarios; booted only when named.
        Machine("frieda", "10.77.0.18"),
        # A read replica (db_replica) for replication scenarios; booted only when named.
        Machine("hermine", "10.77.0.19"),
    )
}

# What `up` boots when no host is named: every machine up to and including outsider.
DEFAULT_MACHINES: tuple[str, ...] = (
    "nixie",
    "freud",
    "fritz",
    "franz",
    "esme",
    "outsider",
)


def state_directory() -> Path:
    """Where the base image, the overlays, the key and the logs live."""
    override = os.environ.get(STATE_DIRECTORY_VARIABLE)
    return Path(override) if override else DEFAULT_STATE_DIRECTORY


def ssh_key_path() -> Path:
    """The private key that every local host accepts for root."""
    return state_directory() / "ssh" / "id_ed25519"


def ssh_config_path() -> Path:
    """An ssh_config with a Host entry per machine, for ssh, testinfra and pyinfra."""
    return state_directory() / "ssh_config"


def base_directory() -> Path:
    """The shared, read-only root of every host (the lowerdir of their overlays)."""
    return state_directory() / "base"


def package_cache_directory() -> Path:
    """Debian packages the hosts downloaded, kept across `down` for the next fresh hosts."""
    return state_directory() / "package-cache"


def snapshot_directory() -> Path:
    """What a snapshot keeps on this machine beside the hosts' layers (the fleet's secrets)."""
    return state_directory() / "snapshot"


def machines_directory() -> Path:
    """The parent of every host's own directory (overlay, pid files, log)."""
    return state_directory() / "machines"


@dataclass(frozen=True)
class MachineFiles:
    """Where one host's own state lives; all of it goes with `down`."""

    directory: Path

    @property
    def upper(self) -> Path:
        """The overlay's upper dir: everything the host changed on top of the base."""
        return self.directory / "upper"

    @property
    def layers(self) -> Path:
        """Snapshots of the host: former upper dirs, now read-only layers between base and upper."""
        return self.directory / "layers"

    def snapshot_layers(self) -> list[Path]:
        """The host's snapshot layers, oldest (lowest) first."""
        if not self.layers.is_dir():
            return []
        return sorted((path for path in self.layers.iterdir() if path.name.isdigit()), key=lambda path: int(path.name))

    def overlay_layers(self) -> list[Path]:
        """Every layer of the host's root above the base, lowest first, the upper dir last."""
        return [*self.snapshot_layers(), self.upper]

    def find(self, relative: str) -> Path | None:
        """The host's own copy of ``relative`` (a path under its root), looked up as overlayfs
        would: the highest layer that holds it wins. None when only the base has it."""
        for layer in reversed(self.overlay_layers()):
            candidate = layer / relative
            if candidate.is_file():
                return candidate
            if candidate.exists() or candidate.is_symlink():
                return None  # a whiteout (or something that is not a file) hides the layers below
        return None

    @property
    def launcher_pid(self) -> Path:
        """The pid of the loop that (re)starts nspawn; alive as long as the host is up."""
        return self.directory / "pid"

    @property
    def nspawn_pid(self) -> Path:
        """The pid of the current nspawn; its child is the host's systemd."""
        return self.directory / "nspawn.pid"

    @property
    def log(self) -> Path:
        return self.directory / "nspawn.log"

    @property
    def stop_flag(self) -> Path:
        """When this exists, the launcher does not restart nspawn after it exits."""
        return self.directory / "stop"


def machine_files(name: str) -> MachineFiles:
    return MachineFiles(machines_directory() / name)
