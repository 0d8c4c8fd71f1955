"""A picture of the fleet, drawn by Graphviz from the model: hosts, roles, services, who connects to whom.

`diagram_dot(fleet)` builds the Graphviz text, `write_diagram(fleet, path)` runs `dot -Tsvg` on it.
Hosts with the same roles are drawn as one group, and a connection is drawn once per pair of groups
(at the level of roles, not of every host). Inside the private network the connections are the
firewall's openings (`mastofleet.firewall.openings`: every port a role listens on and who may reach
it), so the picture shows what the hosts are allowed to do, not a second list of it. The output is
deterministic (inventory order, sorted labels, no timestamps) and carries a digest of its Graphviz
text, so a test can tell whether a committed picture still matches the model.
"""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from mastofleet.model import Fleet, Host, Role
from mastofleet.model.problems import InventoryError
from mastofleet.plan.firewall import openings
from mastofleet.plan.services import METRICS_SERVICES, expected_services

# No hyphen in it: Graphviz writes "-" in SVG comments as "&#45;".
DIGEST_MARK = "mastofleet diagram sha256:"
INTERNET = "internet"
OPERATORS = "operators"
PRIVATE_NETWORK = "cluster_private"
OUTSIDE_STORES = ("object_storage", "backup_bucket")

# Connections that leave the private network, which the firewall (inbound only) does not list:
# (role, outside node, what travels). To move into the role contract once the role registry exists.
OUTBOUND: tuple[tuple[Role, str, str], ...] = (
    (Role.app, "object_storage", "S3 API: media uploads"),
    (Role.edge, "object_storage", "media, cached"),
    (Role.db, "backup_bucket", "pgBackRest: WAL, backups"),
    (Role.redis, "backup_bucket", "Redis dump, secrets file"),
)

# The monitor's own servers are main services of that host, not exporters next to another service.
MONITOR_JOBS = frozenset({"prometheus", "alertmanager"})


@dataclass(frozen=True)
class Group:
    """Hosts that have exactly the same roles, drawn together."""

    roles: tuple[str, ...]
    hosts: tuple[Host, ...]

    @property
    def node(self) -> str:
        """The Graphviz name of the group: a cluster when it holds several hosts, else its host."""
        return "cluster_" + "_".join(self.roles) if len(self.hosts) > 1 else self.hosts[0].name

    @property
    def anchor(self) -> str:
        """The node an edge to the group attaches to (Graphviz edges join nodes, not clusters)."""
        return self.hosts[0].name


def host_groups(fleet: Fleet) -> list[Group]:
    """The hosts grouped by their set of roles, in inventory order."""
    grouped: dict[tuple[str, ...], list[Host]] = {}
    for host in fleet.hosts:
        grouped.setdefault(tuple(sorted(str(role) for role in host.roles)), []).append(host)
    return [Group(roles, tuple(hosts)) for roles, hosts in grouped.items()]


def _service_family(service: str) -> str:
    """'metrics node' -> 'metrics', 'streaming@4000' -> 'streaming', 'redis main' -> 'redis'."""
    return service.split(" ")[0].split("@")[0]


def _source_node(name: str, groups_by_host: dict[str, Group]) -> str:
    """A firewall source is a host of the fleet or an operator's network."""
    return groups_by_host[name].node if name in groups_by_host else OPERATORS


def connections(fleet: Fleet) -> dict[tuple[str, str], dict[str, set[int]]]:
    """(from, to) -> {service: ports}, from the firewall's openings; a group's talk within itself is left out."""
    groups = host_groups(fleet)
    groups_by_host = {host.name: group for group in groups for host in group.hosts}
    found: dict[tuple[str, str], dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for host in fleet.hosts:
        target = groups_by_host[host.name].node
        for opening in openings(fleet, host):
            names = [INTERNET] if opening.sources is None else [source.name for source in opening.sources]
            for name in names:
                source = INTERNET if name == INTERNET else _source_node(name, groups_by_host)
                if source != target:
                    found[(source, target)][_service_family(opening.service)].add(opening.port)
    _to_whole_network(found, [group.node for group in groups])
    for role, outside, what in OUTBOUND:
        if _outside_present(fleet, outside):
            for group in groups:
                if str(role) in group.roles:
                    found[(group.node, outside)][what] = set()
    return found


def _to_whole_network(found: dict[tuple[str, str], dict[str, set[int]]], nodes: list[str]) -> None:
    """A service that an outside source reaches on every group (SSH, say) becomes one edge to the network."""
    for source in (INTERNET, OPERATORS):
        reached = [found.get((source, node), {}) for node in nodes]
        if len(nodes) < 2:
            return
        common = {name: ports for name, ports in reached[0].items() if all(other.get(name) == ports for other in reached)}
        if not common:
            continue
        for node in nodes:
            for name in common:
                del found[(source, node)][name]
            if not found[(source, node)]:
                del found[(source, node)]
        found[(source, PRIVATE_NETWORK)] = common


def _outside_present(fleet: Fleet, outside: str) -> bool:
    if outside == "object_storage":
        return fleet.object_storage is not None and fleet.object_storage.enabled
    return fleet.backup is not None


def _compact_units(units: list[str]) -> list[str]:
    """'mastodon-streaming@4000.service', '...@4001.service' -> 'mastodon-streaming@4000, 4001'."""
    compact: dict[str, list[str]] = {}
    for unit in units:
        name = unit.removesuffix(".service")
        stem, _, instance = name.partition("@")
        compact.setdefault(stem, []).append(instance)
    return [stem + ("@" + ", ".join(instances) if any(instances) else "") for stem, instances in compact.items()]


def service_lines(fleet: Fleet, host: Host) -> list[str]:
    """A host's main services, its Sidekiq processes and its exporters, one line each kind."""
    services = expected_services(fleet, host)
    sidekiq = {process.unit for process in host.sidekiq}
    exporters = {unit: job for job, unit in METRICS_SERVICES.items() if job not in MONITOR_JOBS}
    lines = _compact_units([unit for unit in services if unit not in sidekiq and unit not in exporters])
    if host.sidekiq:
        lines.append("sidekiq: " + ", ".join(process.name for process in host.sidekiq))
    jobs = [exporters[unit] for unit in services if unit in exporters]
    if jobs:
        lines.append("exporters: " + ", ".join(jobs))
    return lines


def _html_label(rows: list[tuple[str, str]]) -> str:
    """A Graphviz HTML label: one row per (text, style); style is 'title', 'small' or ''."""
    cells = []
    for text, style in rows:
        escaped = html.escape(text)
        if style == "title":
            escaped = f'<b><font point-size="13">{escaped}</font></b>'
        elif style == "small":
            escaped = f'<font point-size="9" color="#555555">{escaped}</font>'
        cells.append(f'<tr><td align="left">{escaped}</td></tr>')
    return '<<table border="0" cellborder="0" cellspacing="1">' + "".join(cells) + "</table>>"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _host_node(fleet: Fleet, host: Host, with_roles: bool) -> str:
    subtitle = f"{host.private_address}" + (f" · {' · '.join(sorted(map(str, host.roles)))}" if with_roles else "")
    rows = [(host.name, "title"), (subtitle, "small")] + [(line, "") for line in service_lines(fleet, host)]
    style = ', style="rounded,dashed", color="#999999"' if host.has(Role.retired) else ""
    return f"    {_quote(host.name)} [label={_html_label(rows)}{style}];"


def _group_lines(fleet: Fleet, group: Group) -> list[str]:
    if len(group.hosts) == 1:
        return [_host_node(fleet, group.hosts[0], with_roles=True)]
    lines = [f"    subgraph {_quote(group.node)} {{", f"      label={_quote(', '.join(group.roles) + ' hosts')};"]
    lines += ['      style="rounded,filled"; fillcolor="#eef3fb"; color="#8aa4cc";']
    lines += ["  " + _host_node(fleet, host, with_roles=False) for host in group.hosts]
    return lines + ["    }"]


def _edge_label(services: dict[str, set[int]]) -> str:
    parts = [f"{name} {', '.join(map(str, sorted(ports)))}".strip() for name, ports in sorted(services.items())]
    return "\\n".join(part.replace('"', '\\"') for part in parts)


def _edge_line(source: str, target: str, services: dict[str, set[int]], anchors: dict[str, str]) -> str:
    label = _edge_label(services) + ("\\n(every host)" if target == PRIVATE_NETWORK else "")
    attributes = [f'label="{label}"']
    if source.startswith("cluster_"):
        attributes.append(f"ltail={_quote(source)}")
    if target.startswith("cluster_"):
        attributes.append(f"lhead={_quote(target)}")
    if target in OUTSIDE_STORES:
        attributes.append("style=dashed")
    if source == OPERATORS or set(services) == {"metrics"}:
        # Administration and scraping reach everything: drawn lighter and left out of the layout's ranks,
        # so the picture reads from the internet through the balancers to the app and its stores.
        attributes += ["constraint=false", 'color="#aaaaaa"', 'fontcolor="#777777"']
    # Quoted: host names may hold hyphens, which a bare Graphviz name may not.
    return f"  {_quote(anchors.get(source, source))} -> {_quote(anchors.get(target, target))} [{', '.join(attributes)}];"


def _outside_nodes(fleet: Fleet) -> list[str]:
    """The public side (visitors, operators) and the stores outside the private network."""
    lines = [
        '  subgraph cluster_public { label="public side"; style="rounded,dashed"; color="#999999";',
        f'    {INTERNET} [label="internet\\n(visitors, other servers)", shape=ellipse];',
        f'    {OPERATORS} [label="operators\\n(their source networks)", shape=ellipse];',
        "  }",
    ]
    if _outside_present(fleet, "object_storage") and fleet.object_storage is not None:
        bucket = fleet.object_storage.bucket
        lines.append(f'  object_storage [label="object storage\\nbucket {bucket}", shape=cylinder];')
    if fleet.backup is not None:
        lines.append(f'  backup_bucket [label="backup bucket\\n{fleet.backup.bucket}", shape=cylinder];')
    stores = [name for name in OUTSIDE_STORES if _outside_present(fleet, name)]
    if stores:
        lines.append(f"  {{ rank=max; {'; '.join(stores)}; }}")
    return lines


def _body(fleet: Fleet) -> list[str]:
    groups = host_groups(fleet)
    anchors = {group.node: group.anchor for group in groups} | {PRIVATE_NETWORK: groups[0].anchor}
    lines = [
        f"digraph {_quote(fleet.name)} {{",
        '  graph [rankdir=LR, compound=true, nodesep=0.3, ranksep=1.1, fontname="Helvetica", fontsize=12,',
        f"         label={_quote(f'fleet {fleet.name}: who may connect to whom (the firewall openings)')},"
        ' labelloc=t];',
        '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
        *_outside_nodes(fleet),
        f"  subgraph {PRIVATE_NETWORK} {{",
        f"    label={_quote(f'private network {fleet.private_network}')};",
        '    style=rounded; color="#333333";',
    ]
    for group in groups:
        lines += _group_lines(fleet, group)
    lines.append("  }")
    for (source, target), services in sorted(connections(fleet).items()):
        # Scraping gets a line of its own, so the monitor's lines do not hide the balancer's.
        metrics = {name: ports for name, ports in services.items() if name == "metrics"}
        others = {name: ports for name, ports in services.items() if name != "metrics"}
        lines += [_edge_line(source, target, part, anchors) for part in (others, metrics) if part]
    return lines + ["}"]


def diagram_dot(fleet: Fleet) -> str:
    """The Graphviz text of the fleet's picture, with the digest of everything else in a comment."""
    body = "\n".join(_body(fleet)) + "\n"
    digest = hashlib.sha256(body.encode()).hexdigest()
    # Graphviz copies the graph's comment into the SVG, so a picture names the text it was drawn from.
    return body.replace("  graph [", f'  graph [comment="{DIGEST_MARK}{digest}", ', 1)


def diagram_digest(text: str) -> str | None:
    """The digest a picture or its Graphviz text carries, if any."""
    start = text.find(DIGEST_MARK)
    if start < 0:
        return None
    start += len(DIGEST_MARK)
    return text[start : start + 64]


def render_svg(dot_text: str) -> str:
    """Run Graphviz's `dot -Tsvg` on the text."""
    dot = shutil.which("dot")
    if dot is None:
        raise InventoryError("the diagram needs Graphviz's `dot`: apt-get install graphviz (scripts/install does)")
    result = subprocess.run([dot, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InventoryError(f"dot could not draw the fleet: {result.stderr.strip()}")
    return result.stdout


def write_diagram(fleet: Fleet, path: Path) -> None:
    """Write the fleet's picture as SVG to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_svg(diagram_dot(fleet)))
