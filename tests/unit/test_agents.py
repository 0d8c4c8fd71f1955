"""The agents (mastofleet/agents): the deploy uploads exactly their files, and each imports only
what its host has (Debian's python3 runs them there, with no mastofleet installed)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from fleet_builder import build

from mastofleet.agents import AGENTS_DIRECTORY, agent_sources
from mastofleet.deploys.media_migration import PACKAGE_DIRECTORY
from mastofleet.model import Role
from mastofleet.plan.render import render_fleet

# Besides the standard library, what the deploy installs for them (python3-boto3 brings botocore).
HOST_MODULES = {"boto3", "botocore"}


def _imported(path: Path) -> list[str]:
    """The absolute imports of a file, by top-level name (relative ones stay inside the agent)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return names


def test_a_migrating_edge_host_gets_every_file_of_the_media_agent(fleet_data, tmp_path: Path) -> None:
    hosts, common = fleet_data
    common["media_migration"] = {"origin": "http://10.0.0.9:8080"}
    fleet = build(hosts, common)
    edge = fleet.with_role(Role.edge)[0]
    render_fleet(fleet, tmp_path)
    uploaded = tmp_path / edge.name / PACKAGE_DIRECTORY.lstrip("/")
    assert {path.name: path.read_text() for path in uploaded.iterdir()} == {
        path.name: path.read_text() for path in agent_sources("media_edge")
    }


def test_an_unknown_agent_is_an_error() -> None:
    with pytest.raises(FileNotFoundError, match="no agent 'media_egde'"):
        agent_sources("media_egde")


@pytest.mark.parametrize("path", sorted(AGENTS_DIRECTORY.glob("*/*.py")), ids=lambda path: path.parent.name + "/" + path.name)
def test_an_agent_imports_only_what_its_host_has(path: Path) -> None:
    foreign = [name for name in _imported(path) if name not in sys.stdlib_module_names and name not in HOST_MODULES]
    assert foreign == [], f"{path} imports {foreign}: the host runs it without them"
