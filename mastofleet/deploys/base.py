"""The base every host gets: packages, locale and timezone, a bounded journal, security updates."""

from __future__ import annotations

from pyinfra.operations import apt, files, server, systemd

from mastofleet.deploys.component import Component, Run, Stage, everywhere, in_service
from mastofleet.deploys.operations import changed, put_files, role_deploy
from mastofleet.model import Fleet, Host
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.metrics_endpoints import node_endpoints
from mastofleet.views.openings import Opening, from_operators
from mastofleet.views.templating import render

PACKAGES = [
    "ca-certificates",
    "curl",
    "gnupg",
    "locales",
    "tzdata",
    "sudo",
    "unattended-upgrades",
    "procps",
    "iproute2",
    "netcat-openbsd",
    "fio",  # the doctor's and the db disk check's synthetic load (mastofleet.doctor)
]
LOCALE = "en_US.UTF-8"
JOURNALD = "/etc/systemd/journald.conf.d/50-mastofleet.conf"
LOCALE_LIST = "/etc/locale.gen"


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    return [
        ConfigFile(
            JOURNALD,
            render("base/journald.conf.j2", journal_max_use="2G"),
        ),
        ConfigFile("/etc/apt/apt.conf.d/20auto-upgrades", render("base/20auto-upgrades.j2")),
        # Debian 13 keeps the locale in /etc/locale.conf (/etc/default/locale links to it).
        ConfigFile("/etc/locale.conf", render("base/locale.j2", locale=LOCALE)),
        ConfigFile(LOCALE_LIST, f"{LOCALE} UTF-8\n"),
    ]


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    return [Opening("ssh", 22, from_operators(fleet))]


@role_deploy("Base system")
def base(fleet: Fleet, host: Host) -> None:
    """
    Prepare any fleet host: Debian packages, the UTF-8 locale, UTC, a persistent journal bounded
    in size, and daily unattended security upgrades.
    """
    apt.update(name="Refresh apt lists", cache_time=3600)
    apt.packages(name="Install base packages", packages=PACKAGES)
    files.link(name="Use UTC", path="/etc/localtime", target="/usr/share/zoneinfo/Etc/UTC")
    uploaded = put_files(files_for(fleet, host, SecretValues()))
    server.shell(name="Generate locales", commands=["locale-gen"], _if=changed(uploaded.of(LOCALE_LIST)))
    systemd.service(
        name="Restart journald for its limits",
        service="systemd-journald",
        restarted=True,
        _if=changed(uploaded.of(JOURNALD)),
    )


def _system(run: Run) -> None:
    if in_service(run.host):
        base(run.fleet, run.host)


COMPONENT = Component(
    name="base",
    applies=everywhere,
    files=files_for,
    openings=firewall_rules,
    steps={Stage.SYSTEM: _system},
    metrics=node_endpoints,
)
