"""nftables on every host: each role's declared ports open to whom it names, everything else dropped.

The one role that reads every role's openings: the registry hands it a function for them
(`component(openings_of)`), so it never imports the roles it renders.
"""

from __future__ import annotations

from pyinfra import host as current_host
from pyinfra.api import FactBase
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, server, systemd

from mastofleet.deploys.component import Component, OpeningsOf, Run, Stage, everywhere, in_service
from mastofleet.deploys.operations import changed, put_files, role_deploy, service_running
from mastofleet.deploys.units import SYSTEMD_DIRECTORY
from mastofleet.model import Fleet, Host, Role
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.openings import Opening, letting_in, rules_of
from mastofleet.views.templating import render

TABLE = "mastofleet"
RULES_FILE = "/etc/mastofleet/firewall.nft"
UNIT = "mastofleet-firewall.service"
UNIT_PATH = f"{SYSTEMD_DIRECTORY}/{UNIT}"


def files_for(
    fleet: Fleet, host: Host, secrets: SecretValues, openings: list[Opening], kept: frozenset[str] | None = None
) -> list[ConfigFile]:
    """The table letting in what `openings` (the host's roles' own) name; `kept`: the retired hosts
    still let in (None: every retired host)."""
    context = {"fleet": fleet, "host": host, "table": TABLE, "unit": UNIT, "rules_file": RULES_FILE}
    return [
        ConfigFile(
            RULES_FILE,
            render(
                "firewall/firewall.nft.j2",
                rules=rules_of(letting_in(fleet, openings, kept)),
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
        return f"grep -oE '([0-9]{{1,3}}[.]){{3}}[0-9]{{1,3}}' {RULES_FILE} 2>/dev/null || true"

    def process(self, output: list[str]) -> frozenset[str]:
        return frozenset(line.strip() for line in output if line.strip())


def still_let_in(fleet: Fleet) -> frozenset[str]:
    """Retired hosts this host's firewall still lets in: the retiring deploy closes it to them only
    after their processes stopped (`close_to_retired`); a later deploy does not open it again."""
    listed = current_host.get_fact(AddressesInRules) or frozenset()
    return frozenset(host.name for host in fleet.with_role(Role.retired) if str(host.private_address) in listed)


def apply(fleet: Fleet, host: Host, openings: list[Opening], kept: frozenset[str]) -> None:
    """Put the host's rules (letting in the retired hosts in `kept`), check and load them."""
    uploaded = put_files(files_for(fleet, host, SecretValues(), openings, kept))
    table, unit = uploaded.of(RULES_FILE), uploaded.of(UNIT_PATH)
    server.shell(name="Check the firewall rules", commands=[f"nft -c -f {RULES_FILE}"], _if=changed(table))
    service_running(
        UNIT,
        restart_when=changed(table),
        reload_instead=True,
        daemon_reload_when=changed(unit),
        inputs=[RULES_FILE],
    )


def close_to_retired(fleet: Fleet, host: Host, openings: list[Opening]) -> None:
    """At the end of the retiring deploy, once the retired hosts' processes stopped: rules without them."""
    if fleet.firewall.enabled and still_let_in(fleet):
        apply(fleet, host, openings, frozenset())


class TableLoaded(FactBase[bool]):
    """True when the fleet's nftables table is in the kernel."""

    def command(self) -> str:
        return f"nft list table inet {TABLE} >/dev/null 2>&1 && echo loaded || echo absent"

    def process(self, output: list[str]) -> bool:
        return "loaded" in output


def remove_firewall() -> None:
    """The firewall switched off in the model: its table, unit and files go."""
    if current_host.get_fact(TableLoaded):
        server.shell(name="Remove the mastofleet firewall table", commands=[f"nft delete table inet {TABLE}"])
    if current_host.get_fact(File, path=UNIT_PATH):
        systemd.service(name=f"Disable {UNIT}", service=UNIT, running=False, enabled=False)
    for path in (RULES_FILE, UNIT_PATH):
        files.file(name=f"Remove {path}", path=path, present=False)


@role_deploy("Firewall")
def firewall(fleet: Fleet, host: Host, openings: list[Opening]) -> None:
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
    apply(fleet, host, openings, still_let_in(fleet))


def component(openings_of: OpeningsOf) -> Component:
    """The firewall role, rendering what `openings_of` says the host's roles open."""

    def files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
        return files_for(fleet, host, secrets, openings_of(fleet, host)) if fleet.firewall.enabled else []

    def system(run: Run) -> None:
        if in_service(run.host):
            firewall(run.fleet, run.host, openings_of(run.fleet, run.host))

    return Component(name="firewall", applies=everywhere, files=files, steps={Stage.SYSTEM: system})
