"""nftables on every host: each role's declared ports open to whom it names, everything else dropped."""

from __future__ import annotations

from pyinfra import host as current_host
from pyinfra.api import FactBase, deploy
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, server, systemd

from mastofleet import firewall as rules
from mastofleet.deploys.units import SYSTEMD_DIRECTORY
from mastofleet.files import ConfigFile, SecretValues
from mastofleet.model import Fleet, Host, Role
from mastofleet.operations import changed, put_files, service_running
from mastofleet.templating import render

UNIT_PATH = f"{SYSTEMD_DIRECTORY}/{rules.UNIT}"


def files_for(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] | None = None) -> list[ConfigFile]:
    context = {"fleet": fleet, "host": host, "table": rules.TABLE, "unit": rules.UNIT, "rules_file": rules.RULES_FILE}
    return [
        ConfigFile(
            rules.RULES_FILE,
            render(
                "firewall/firewall.nft.j2",
                rules=rules.rules(fleet, host, kept),
                log_drops=fleet.firewall.log_drops,
                **context,
            ),
            mode="640",
        ),
        ConfigFile(UNIT_PATH, render("firewall/mastofleet-firewall.service.j2", **context)),
    ]


class AddressesInRules(FactBase[frozenset[str]]):
    """The IPv4 addresses the host's rules file lets in (comments may be cut short; addresses are not)."""

    def command(self) -> str:
        return f"grep -oE '([0-9]{{1,3}}[.]){{3}}[0-9]{{1,3}}' {rules.RULES_FILE} 2>/dev/null || true"

    def process(self, output: list[str]) -> frozenset[str]:
        return frozenset(line.strip() for line in output if line.strip())


def still_let_in(fleet: Fleet) -> frozenset[str]:
    """Retired hosts this host's firewall still lets in: the retiring deploy closes it to them only
    after their processes stopped (`close_to_retired`); a later deploy does not open it again."""
    listed = current_host.get_fact(AddressesInRules) or frozenset()
    return frozenset(host.name for host in fleet.with_role(Role.retired) if str(host.private_address) in listed)


def apply(fleet: Fleet, host: Host, kept: frozenset[str]) -> None:
    """Put the host's rules (letting in the retired hosts in `kept`), check and load them."""
    rendered = files_for(fleet, host, SecretValues(), kept)
    table, unit = put_files(rendered)
    server.shell(name="Check the firewall rules", commands=[f"nft -c -f {rules.RULES_FILE}"], _if=changed(table))
    service_running(
        rules.UNIT,
        restart_when=changed(table),
        reload_instead=True,
        daemon_reload_when=changed(unit),
        inputs=[rules.RULES_FILE],
    )


def close_to_retired(fleet: Fleet, host: Host) -> None:
    """At the end of the retiring deploy, once the retired hosts' processes stopped: rules without them."""
    if fleet.firewall.enabled and still_let_in(fleet):
        apply(fleet, host, frozenset())


class TableLoaded(FactBase[bool]):
    """True when the fleet's nftables table is in the kernel."""

    def command(self) -> str:
        return f"nft list table inet {rules.TABLE} >/dev/null 2>&1 && echo loaded || echo absent"

    def process(self, output: list[str]) -> bool:
        return "loaded" in output


def remove_firewall() -> None:
    """The firewall switched off in the model: its table, unit and files go."""
    if current_host.get_fact(TableLoaded):
        server.shell(name="Remove the mastofleet firewall table", commands=[f"nft delete table inet {rules.TABLE}"])
    if current_host.get_fact(File, path=UNIT_PATH):
        systemd.service(name=f"Disable {rules.UNIT}", service=rules.UNIT, running=False, enabled=False)
    for path in (rules.RULES_FILE, UNIT_PATH):
        files.file(name=f"Remove {path}", path=path, present=False)


@deploy("Firewall")
def firewall(fleet: Fleet, host: Host) -> None:
    """
    Load the host's nftables table, rendered from the ports its roles declare: checked by `nft -c`
    first, then swapped in one transaction (established sessions are accepted before anything else,
    so the deploy's own SSH session survives). An enabled unit loads it again at every boot, before
    the network comes up. With the firewall disabled in the model, the table and the unit are removed.
    """
    apt.packages(name="Install nftables", packages=["nftables"])
    if not fleet.firewall.enabled:
        remove_firewall()
        return
    apply(fleet, host, still_let_in(fleet))
