"""The hosts' network: the bridge mf0, IP forwarding, and a firewall that lets them
reach each other and the apt mirror, and nothing else.

The host machine reaches every container directly over the bridge (that is how SSH
works); the containers reach the outside world only as far as this machine's own
mirror addresses on tcp/80 and tcp/443, masqueraded behind this machine.
"""

from pathlib import Path

from mastofleet.local.machines import (
    BRIDGE,
    GATEWAY,
    NETWORK,
    PREFIX_LENGTH,
    state_directory,
)
from mastofleet.local.process import run_checked, run_quietly

TABLE = "mastofleet_local"
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def saved_forwarding_path() -> Path:
    """Where the ip_forward value from before the first `up` is kept for `down`."""
    return state_directory() / "ip_forward.saved"


def bridge_exists() -> bool:
    return Path("/sys/class/net", BRIDGE).exists()


def ensure_network(mirror_addresses: tuple[str, ...]) -> None:
    """Bring up the bridge, forwarding and the firewall; harmless to repeat."""
    ensure_bridge()
    enable_forwarding()
    apply_firewall(mirror_addresses)


def remove_network() -> None:
    """Undo `ensure_network`: the firewall table, the bridge, and ip_forward as it was."""
    if run_quietly(["nft", "list", "table", "inet", TABLE]).returncode == 0:
        run_checked(
            ["nft", "delete", "table", "inet", TABLE],
            fix=f"delete it by hand: nft delete table inet {TABLE}",
        )
    if bridge_exists():
        run_checked(
            ["ip", "link", "delete", BRIDGE],
            fix=f"a container may still use it; see `ip link show master {BRIDGE}`.",
        )
    restore_forwarding()


def ensure_bridge() -> None:
    fix = "check that this machine may create network interfaces (CAP_NET_ADMIN)."
    if not bridge_exists():
        run_checked(["ip", "link", "add", BRIDGE, "type", "bridge"], fix=fix)
    run_checked(
        ["ip", "address", "replace", f"{GATEWAY}/{PREFIX_LENGTH}", "dev", BRIDGE],
        fix=fix,
    )
    run_checked(["ip", "link", "set", BRIDGE, "up"], fix=fix)


def enable_forwarding() -> None:
    """Route for the containers, remembering the previous setting the first time."""
    saved = saved_forwarding_path()
    if not saved.exists():
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(IP_FORWARD.read_text())
    IP_FORWARD.write_text("1\n")


def restore_forwarding() -> None:
    saved = saved_forwarding_path()
    if saved.exists():
        IP_FORWARD.write_text(saved.read_text())
        saved.unlink()


def render_firewall(
    mirror_addresses: tuple[str, ...],
    *,
    table: str = TABLE,
    bridge: str = BRIDGE,
    network: str = NETWORK,
) -> str:
    """The whole table, replaced in one nft transaction so there is never a gap.

    The first two lines make the delete safe when the table does not exist yet. `table`,
    `bridge` and `network` are the local fleet's unless another set of hosts (the Vagrant
    containers) needs the same confinement on its own bridge.
    """
    elements = f"        elements = {{ {', '.join(mirror_addresses)} }}\n" if mirror_addresses else ""
    return f"""\
table inet {table} {{}}
delete table inet {table}
table inet {table} {{
    set mirror_addresses {{
        type ipv4_addr
{elements}    }}

    chain forward {{
        type filter hook forward priority filter; policy accept;
        # Host to host, on the bridge (bridged traffic is seen here when br_netfilter is loaded).
        iifname "{bridge}" oifname "{bridge}" accept
        # Out to the apt mirror, and only to it.
        iifname "{bridge}" ip daddr @mirror_addresses tcp dport {{ 80, 443 }} accept
        oifname "{bridge}" ct state established,related accept
        iifname "{bridge}" drop
        oifname "{bridge}" drop
    }}

    chain input {{
        type filter hook input priority filter; policy accept;
        # Answers to this machine's own connections (SSH into the hosts); nothing else.
        iifname "{bridge}" ct state established,related accept
        iifname "{bridge}" drop
    }}

    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr {network} oifname != "{bridge}" masquerade
    }}
}}
"""


def apply_firewall(mirror_addresses: tuple[str, ...]) -> None:
    run_checked(
        ["nft", "-f", "-"],
        input_text=render_firewall(mirror_addresses),
        fix="check that nftables works here (apt-get install nftables; nft list ruleset).",
    )
