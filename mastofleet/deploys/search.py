"""Full-text search: Elasticsearch or OpenSearch on the hosts of `search`, from its maker's apt
repository, and Mastodon's indices created once by `tootctl search deploy` on the first app host.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyinfra import host as current_host
from pyinfra.facts.files import FileContents
from pyinfra.operations import apt, server

from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.operations import as_user_command, changed, put_files, role_deploy, service_running
from mastofleet.deploys.release import Release
from mastofleet.model import Fleet, Host, Role
from mastofleet.quoting import shell
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.openings import Opening, from_roles
from mastofleet.views.search import search_endpoint, search_settings
from mastofleet.views.templating import render


@dataclass(frozen=True)
class Engine:
    """What differs between Elasticsearch and OpenSearch as packaged by their makers."""

    name: str  # the package, its service and its directories are named after it
    key_url: str
    repository: str  # with {series}
    security_setting: str  # turns the bundled security plugin off
    initial_nodes_setting: str  # names the nodes that elect the first master of a new cluster
    install_environment: dict[str, str] = field(default_factory=dict)

    @property
    def service(self) -> str:
        return f"{self.name}.service"

    @property
    def config_directory(self) -> str:
        return f"/etc/{self.name}"

    @property
    def data_directory(self) -> str:
        return f"/var/lib/{self.name}"

    @property
    def log_directory(self) -> str:
        return f"/var/log/{self.name}"


ENGINES = {
    "elasticsearch": Engine(
        "elasticsearch",
        "https://artifacts.elastic.co/GPG-KEY-elasticsearch",
        "https://artifacts.elastic.co/packages/{series}/apt",
        "xpack.security.enabled: false",
        "cluster.initial_master_nodes",
    ),
    "opensearch": Engine(
        "opensearch",
        "https://artifacts.opensearch.org/publickeys/opensearch-release.pgp",
        "https://artifacts.opensearch.org/releases/bundle/opensearch/{series}/apt",
        "plugins.security.disabled: true",
        "cluster.initial_cluster_manager_nodes",
        # the package would otherwise install demo certificates and ask for an admin password
        {"DISABLE_INSTALL_DEMO_CONFIG": "true"},
    ),
}
SEARCH_DEPLOYED = "search-deployed"  # in the release record (root's): the cluster the indices were created on


def engine_for(fleet: Fleet) -> Engine:
    return ENGINES[search_settings(fleet).engine]


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    engine = engine_for(fleet)
    context = {
        "fleet": fleet,
        "host": host,
        "engine": engine,
        "settings": search_settings(fleet),
        "nodes": fleet.with_role(Role.search),
    }
    return [
        ConfigFile(
            f"{engine.config_directory}/{engine.name}.yml",
            render("search/search.yml.j2", **context),
            mode="660",
            group=engine.name,
        ),
        ConfigFile(
            f"{engine.config_directory}/jvm.options.d/mastofleet-heap.options",
            render("search/heap.options.j2", **context),
            mode="660",
            group=engine.name,
        ),
    ]


TRANSPORT_PORT = 9300  # the nodes' own protocol (discovery, shards), Elasticsearch's and OpenSearch's default


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    """HTTP to the app hosts (the app and `tootctl search deploy`); the transport port to the other nodes."""
    openings = [Opening("search http", search_settings(fleet).port, from_roles(fleet, Role.app))]
    others = from_roles(fleet, Role.search, but=host)
    if others:
        openings.append(Opening("search transport", TRANSPORT_PORT, others))
    return openings


@role_deploy("Search")
def search(fleet: Fleet, host: Host) -> None:
    """
    Install Elasticsearch or OpenSearch from its maker's apt repository (Debian has neither), with
    the configuration written first so the package's security auto-configuration never runs; one
    cluster over the search hosts (single-node discovery when there is one), listening on loopback
    and the private address, a fixed JVM heap. Restarted when its configuration changes.
    """
    engine = engine_for(fleet)
    settings = search_settings(fleet)
    apt.packages(name="Install apt key tools", packages=["gnupg", "curl", "ca-certificates"])
    key = apt.key(name=f"Trust {engine.name}'s apt repository key", src=engine.key_url, dest=f"{engine.name}.gpg")
    repository = apt.repo(
        name=f"Add {engine.name}'s apt repository ({settings.series})",
        src=(
            f"deb [signed-by=/etc/apt/keyrings/{engine.name}.gpg] "
            f"{engine.repository.format(series=settings.series)} stable main"
        ),
        filename=engine.name,
    )
    apt.update(name=f"Refresh apt lists for {engine.name}", _if=changed(key, repository))
    server.group(name=f"Create the {engine.name} group", group=engine.name, system=True)
    rendered = files_for(fleet, host, SecretValues())
    configuration = put_files(rendered)
    apt.packages(name=f"Install {engine.name}", packages=[engine.name], _env=engine.install_environment)
    service_running(engine.service, restart_when=changed(configuration), inputs=[item.path for item in rendered])


@role_deploy("Search indices")
def create_indices(fleet: Fleet, host: Host, release: Release) -> None:
    """
    `tootctl search deploy` once per search cluster, on the first app host: when search is first
    enabled (or moved to another cluster, which starts empty). The marker notes the cluster.
    """
    endpoint = search_endpoint(fleet)
    if endpoint is None:
        return
    instance = fleet.instance
    marker = f"{instance.release_state_directory}/{SEARCH_DEPLOYED}"
    noted = current_host.get_fact(FileContents, path=marker)
    if noted and noted[0].strip() == endpoint.address:
        return
    server.shell(
        name=f"Create the search indices on {endpoint.address} (tootctl search deploy, once)",
        commands=[
            f"{as_user_command(instance.user, 'bin/tootctl search deploy', release.directory)}"
            f" && echo {shell(endpoint.address)} > {shell(marker)}"
        ],
        _env={"RAILS_ENV": "production"},
    )


def _services(run: Run) -> None:
    search(run.fleet, run.host)


# The indices are the application's (`tootctl`): the mastodon component creates them with
# `create_indices` on the first app host.
COMPONENT = Component(
    name="search",
    applies=with_role(Role.search),
    files=files_for,
    openings=firewall_rules,
    steps={Stage.SERVICES: _services},
)
