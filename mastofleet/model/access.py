"""How the hosts are reached: SSH access and the firewall (the operators are in `operators`)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from pydantic import Field

from mastofleet.model.base import Strict

# Accounts the system or the fleet's services own: an operator may never take one over.
RESERVED_ACCOUNTS = frozenset(
    {"root", "daemon", "bin", "sys", "sync", "nobody", "postgres", "redis", "www-data", "mastodon", "sshd"}
)


class Access(Strict):
    """How people log in to the hosts: sshd settings every host gets."""

    root_login: bool = Field(
        False,
        description="PermitRootLogin (keys only when on). Off: the deploy connects as an operator with sudo; "
        "on only where a harness logs in as root (the local fleet).",
    )
    ssh_sources: list[IPv4Network | IPv6Network] = Field(
        default_factory=list,
        description="Networks besides the operators' own that the firewall opens SSH to (a bastion, a CI runner, "
        "the machine running the local fleet).",
    )
    operator_group: str = Field(
        "mastofleet-operators",
        description="Group of the operator accounts: sudo without a password; a member the model no longer "
        "names is removed.",
    )


class Firewall(Strict):
    """nftables on every host, rendered from what each role declares (`firewall_rules`)."""

    enabled: bool = Field(True, description="Load the fleet's nftables table at boot and on every deploy.")
    log_drops: bool = Field(True, description="Log dropped packets (rate-limited) to the kernel log.")
