"""Full-text search, planned through `@fake`: neither Elasticsearch nor OpenSearch can be installed
here (their apt repositories are out of reach from this machine and its local hosts), so the search
role's plan is checked instead — repository, configuration before the package, the service — and so
are the app's ES_* keys, the rules, and `tootctl search deploy` once, on the first app host."""

from __future__ import annotations

import re

from fleet_builder import build, default_fleet_data, problems_of
from plans import SECRET_VALUES, Plan, plan_host
from pyinfra.api import FileUploadCommand

from mastofleet.deploys import search
from mastofleet.plan.files import SecretValues
from mastofleet.views.environment import render_environment
from mastofleet.views.report import fleet_table

IRMA = {"name": "irma", "groups": ["search"], "data": {"private_address": "10.0.1.20", "memory_mb": 8192}}
INGE = {"name": "inge", "groups": ["search"], "data": {"private_address": "10.0.1.21", "memory_mb": 8192}}
INDICES = "Search indices | Create the search indices on {} (tootctl search deploy, once)"


def with_search(*extra: dict) -> tuple[list[dict], dict]:
    hosts, common = default_fleet_data()
    hosts += [dict(host, data=dict(host["data"])) for host in (extra or (IRMA,))]
    return hosts, common


def raw(plan: Plan, name: str) -> str:
    return " ; ".join(
        command.src.getvalue() if isinstance(command, FileUploadCommand) else str(command.get_raw_value())
        for command in plan.commands(name)
    )


def environment_of(fleet) -> dict[str, str]:
    text = render_environment(fleet, SecretValues(SECRET_VALUES))
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_search_hosts_give_the_app_es_keys() -> None:
    hosts, common = with_search()
    common["search"] = {"preset": "single_node_cluster"}
    environment = environment_of(build(hosts, common))
    assert {key: value for key, value in environment.items() if key.startswith("ES_")} == {
        "ES_ENABLED": "true",
        "ES_HOST": "10.0.1.20",
        "ES_PORT": "9200",
        "ES_PRESET": "single_node_cluster",
    }


def test_an_external_cluster_gives_the_app_its_address() -> None:
    hosts, common = default_fleet_data()
    common["search"] = {"external_host": "10.0.9.9", "port": 9243, "preset": "small_cluster"}
    fleet = build(hosts, common)
    environment = environment_of(fleet)
    assert (environment["ES_HOST"], environment["ES_PORT"], environment["ES_PRESET"]) == (
        "10.0.9.9",
        "9243",
        "small_cluster",
    )
    assert fleet_table(fleet).splitlines()[-1] == (
        "search: external cluster at 10.0.9.9:9243, ES_PRESET small_cluster; indices by `tootctl search deploy` once"
    )


def test_search_rules() -> None:
    hosts, common = with_search()
    common["search"] = {"preset": "small_cluster"}
    problems, text = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("search", "preset")]
    assert "1 search host(s) cannot place" in text and "use single_node_cluster or add search hosts" in text
    hosts, common = with_search(IRMA, INGE)
    common["search"] = {"preset": "small_cluster"}
    build(hosts, common)  # two nodes hold a primary and its replica

    hosts, common = with_search()
    common["search"] = {"external_host": "10.0.9.9"}
    problems, _ = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("search", "external_host")]

    hosts, common = default_fleet_data()
    common["search"] = {"preset": "single_node_cluster"}
    problems, text = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("search", "(section)")]

    hosts, common = with_search()
    common["search"] = {"heap_mb": 6000}
    problems, text = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("irma", "search.heap_mb")]
    assert "at most 4096" in text

    hosts, common = with_search()
    common["search"] = {"preset": "huge_cluster"}
    problems, _ = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("fleet", "search.preset")]


def test_the_search_host_installs_from_the_makers_repository_after_its_configuration(secrets_in_environment) -> None:
    hosts, common = with_search()
    plan = plan_host("irma", hosts, common)
    key = "Search | Trust elasticsearch's apt repository key"
    repository = "Search | Add elasticsearch's apt repository (8.x)"
    configuration = "Search | Put /etc/elasticsearch/elasticsearch.yml"
    heap = "Search | Put /etc/elasticsearch/jvm.options.d/mastofleet-heap.options"
    package = "Search | Install elasticsearch"
    service = "Search | Enable and start elasticsearch.service"
    positions = [plan.names.index(name) for name in (key, repository, configuration, heap, package, service)]
    assert positions == sorted(positions)
    assert (
        "signed-by=/etc/apt/keyrings/elasticsearch.gpg] https://artifacts.elastic.co/packages/8.x/apt stable main"
        in (raw(plan, repository))
    )
    settings = raw(plan, configuration)
    for line in (
        "cluster.name: hachyderm-search",
        "node.name: irma",
        'network.host: ["127.0.0.1", "10.0.1.20"]',
        "http.port: 9200",
        "discovery.type: single-node",
        "xpack.security.enabled: false",
    ):
        assert line in settings.splitlines(), line
    assert "-Xms1024m" in raw(plan, heap) and "-Xmx1024m" in raw(plan, heap)
    assert re.search(r"\belasticsearch\b", raw(plan, package))
    # nothing else of the fleet runs on the search host
    assert not [name for name in plan.names if name.startswith(("Redis |", "PostgreSQL |", "Mastodon"))]


def test_opensearch_in_a_cluster_of_two(secrets_in_environment) -> None:
    hosts, common = with_search(IRMA, INGE)
    common["search"] = {"engine": "opensearch", "series": "2.x", "heap_mb": 2048}
    plan = plan_host("inge", hosts, common)
    assert "releases/bundle/opensearch/2.x/apt stable main" in raw(
        plan, "Search | Add opensearch's apt repository (2.x)"
    )
    settings = raw(plan, "Search | Put /etc/opensearch/opensearch.yml").splitlines()
    assert 'discovery.seed_hosts: ["10.0.1.20", "10.0.1.21"]' in settings
    assert 'cluster.initial_cluster_manager_nodes: ["irma", "inge"]' in settings
    assert "plugins.security.disabled: true" in settings and "discovery.type: single-node" not in settings
    install = plan.operation("Search | Install opensearch").global_arguments
    assert install["_env"] == {"DISABLE_INSTALL_DEMO_CONFIG": "true"}


def test_the_indices_are_created_once_on_the_first_app_host(secrets_in_environment) -> None:
    hosts, common = with_search()
    step = INDICES.format("10.0.1.20:9200")
    first = plan_host("freud", hosts, common)
    assert step in first.names
    assert raw(first, step) == (
        "runuser -u mastodon -- sh -c 'cd /home/mastodon/releases/v4.6.5 && bin/tootctl search deploy'"
        " && echo 10.0.1.20:9200 > /var/lib/mastofleet/release/search-deployed"
    )
    assert first.operation(step).global_arguments["_env"] == {"RAILS_ENV": "production"}
    # after the pre-deployment migrations (the schema exists), before `live` switches
    migrations = "Mastodon release | Migrate the database (pre-deployment migrations, v4.6.5)"
    switch = "Switch the live release | Switch /var/lib/mastofleet/release/live to /home/mastodon/releases/v4.6.5"
    assert first.names.index(migrations) < first.names.index(step) < first.names.index(switch)
    for other in ("fritz", "franz"):
        assert step not in plan_host(other, hosts, common).names


def test_the_marker_skips_the_step_for_the_same_cluster_only(secrets_in_environment) -> None:
    hosts, common = with_search()
    marker = {re.compile(r"cat /var/lib/mastofleet/release/search-deployed"): "10.0.1.20:9200"}
    assert INDICES.format("10.0.1.20:9200") not in plan_host("freud", hosts, common, {"freud": marker}).names
    moved = {re.compile(r"cat /var/lib/mastofleet/release/search-deployed"): "10.0.1.99:9200"}
    assert INDICES.format("10.0.1.20:9200") in plan_host("freud", hosts, common, {"freud": moved}).names


def test_no_search_no_step(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    assert not [name for name in plan_host("freud", hosts, common).names if name.startswith("Search")]


def test_search_files_are_in_render() -> None:
    hosts, common = with_search()
    fleet = build(hosts, common)
    rendered = search.files_for(fleet, fleet.host("irma"), SecretValues())
    assert [(item.path, item.user, item.group, item.mode) for item in rendered] == [
        ("/etc/elasticsearch/elasticsearch.yml", "root", "elasticsearch", "660"),
        ("/etc/elasticsearch/jvm.options.d/mastofleet-heap.options", "root", "elasticsearch", "660"),
    ]
