"""A host's own layer over the shared base: identity and network, written before boot."""

import uuid

from mastofleet.local import package_cache
from mastofleet.local.filesystem import write_file
from mastofleet.local.machines import (
    GATEWAY,
    MACHINES,
    PREFIX_LENGTH,
    Machine,
    machine_files,
)
from mastofleet.local.mirror import MirrorHost

HOSTS_HEADER = """\
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def render_network(machine: Machine) -> str:
    """A static address on host0, the interface nspawn gives a container (never eth0)."""
    return (
        "[Match]\n"
        "Name=host0\n"
        "\n"
        "[Network]\n"
        f"Address={machine.address}/{PREFIX_LENGTH}\n"
        f"Gateway={GATEWAY}\n"
        "LinkLocalAddressing=no\n"
        "IPv6AcceptRA=no\n"
    )


def render_hosts(mirror_hosts: tuple[MirrorHost, ...]) -> str:
    """Every machine by name, and the mirror's host names: the hosts have no DNS."""
    fleet = "".join(f"{machine.address}\t{machine.name}\n" for machine in MACHINES.values())
    mirror = "".join(f"{address}\t{host.name}\n" for host in mirror_hosts for address in host.addresses[:1])
    return (
        HOSTS_HEADER
        + "\n# The local fleet\n"
        + fleet
        + "\n# This machine's apt mirror, as this machine resolves it\n"
        + mirror
    )


def prepare(machine: Machine, mirror_hosts: tuple[MirrorHost, ...]) -> None:
    """Create the host's upper dir with its name, machine-id, address and /etc/hosts, and the
    packages earlier hosts downloaded.

    Written only into a new upper dir: the host owns these files once it has booted.
    """
    upper = machine_files(machine.name).upper
    upper.mkdir(parents=True)
    write_file(upper / "etc/hostname", machine.name + "\n")
    # A random id per host: an empty one in the shared base would give every host the same.
    write_file(upper / "etc/machine-id", uuid.uuid4().hex + "\n", mode=0o444)
    write_file(upper / "etc/systemd/network/10-host0.network", render_network(machine))
    write_file(upper / "etc/hosts", render_hosts(mirror_hosts))
    write_file(upper / "etc/resolv.conf", "")
    package_cache.seed(upper)
