"""The fleet's picture (`mastofleet render --diagram`): drawn from the model, and the README's copy,
docs/fleet.svg, is the one the model draws today.

The committed SVG carries the digest of the Graphviz text it was drawn from, so the check holds on any
Graphviz version; where this machine's `dot` is the one that drew it, the SVG is also drawn again and
compared byte for byte.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_builder import REPO, build, default_fleet_data

from mastofleet.plan.diagram import diagram_digest, diagram_dot, render_svg

PICTURE = REPO / "docs" / "fleet.svg"
REGENERATE = "regenerate it: mastofleet render --diagram docs/fleet.svg inventories/hetzner.py"
SCRIPT = Path(sys.executable).with_name("mastofleet")


def _graphviz_version(text: str) -> str | None:
    found = re.search(r"graphviz version (\S+)", text)
    return found.group(1) if found else None


def test_the_committed_picture_is_drawn_from_todays_model(hetzner_fleet) -> None:
    dot_text = diagram_dot(hetzner_fleet)
    assert diagram_digest(PICTURE.read_text()) == diagram_digest(dot_text), REGENERATE


def test_the_committed_picture_is_what_dot_draws(hetzner_fleet) -> None:
    committed = PICTURE.read_text()
    dot = shutil.which("dot")
    assert dot is not None, "Graphviz's dot is missing: scripts/install installs the graphviz package"
    here = _graphviz_version(subprocess.run([dot, "-V"], capture_output=True, text=True, check=True).stderr)
    if here != _graphviz_version(committed):
        pytest.skip(f"docs/fleet.svg was drawn by graphviz {_graphviz_version(committed)}, this is {here}")
    assert render_svg(diagram_dot(hetzner_fleet)) == committed, REGENERATE


def test_the_text_is_the_same_every_time(hetzner_fleet) -> None:
    assert diagram_dot(hetzner_fleet) == diagram_dot(hetzner_fleet)


def test_every_host_is_drawn_with_its_services(hetzner_fleet) -> None:
    text = diagram_dot(hetzner_fleet)
    for host in hetzner_fleet.hosts:
        assert f'    "{host.name}" [label=<' in text
    assert "postgresql@17-main" in text
    assert "sidekiq: default, ingress, scheduler" in text
    assert 'subgraph "cluster_app" {' in text  # the three app hosts are one group


def test_connections_are_drawn_between_roles_from_the_firewall(hetzner_fleet) -> None:
    edges = [line.strip() for line in diagram_dot(hetzner_fleet).splitlines() if " -> " in line]
    # One line from the app group to the db host, not one per app host.
    assert [edge for edge in edges if edge.startswith('"freud" -> "nixie"')] == [
        '"freud" -> "nixie" [label="pgbouncer 6432\\npostgresql 5432\\nredis 6379", ltail="cluster_app"];'
    ]
    assert not [edge for edge in edges if edge.startswith(('"fritz" ->', '"franz" ->'))]
    assert '"internet" -> "esme" [label="edge 80, 443"];' in edges
    assert '"internet" -> "nixie" [label="nginx 80, 443"];' in edges
    ssh = '"operators" -> "nixie" [label="ssh 22\\n(every host)", lhead="cluster_private"'
    assert any(edge.startswith(ssh) for edge in edges)


def test_a_host_name_with_a_hyphen_is_drawn() -> None:
    hosts, common = default_fleet_data()
    for host in hosts:
        if host["name"] == "esme":
            host["name"] = "edge-1"
    svg = render_svg(diagram_dot(build(hosts, common)))
    assert "edge&#45;1" in svg  # Graphviz writes "-" as &#45; in SVG text


def test_render_draws_the_picture_without_an_output_directory(tmp_path: Path) -> None:
    picture = tmp_path / "fleet.svg"
    result = subprocess.run(
        [str(SCRIPT), "render", "--diagram", str(picture), "inventories/hetzner.py"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert picture.read_text().startswith("<?xml")
    assert sorted(tmp_path.iterdir()) == [picture]


def test_render_without_output_or_diagram_exits_2() -> None:
    result = subprocess.run(
        [str(SCRIPT), "render", "inventories/hetzner.py"], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "--diagram" in result.stderr
