"""Property-based: however the example fleet is mutated, `mastofleet check` answers with exit 0 or
with the problems (exit 1), never a traceback; and every fleet it accepts renders files the real
tools accept (`nginx -t`, `systemd-analyze verify`, `nft -c`).

Each example runs the real command in-process (`mastofleet.commands.main(["check", INVENTORY])`)
on a project written to disk (tests/unit/fleet_mutations.py), and renders every host of a fleet it
accepts. The tools then run once per distinct file, on an evenly spread sample of the accepted
fleets. Under CI (the `CI` variable, or MASTOFLEET_HYPOTHESIS_PROFILE=ci, which scripts/test sets)
the `ci` profile runs 1,000 examples (about a minute here); elsewhere `dev` runs
MASTOFLEET_HYPOTHESIS_EXAMPLES (40). The counts are printed at the end.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import traceback
from pathlib import Path
from typing import Any

import pytest
from fleet_mutations import fresh_document, mutation, write_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyinfra.api import connectors
from test_firewall_rules import nft_check
from test_rendered_files import nginx_test, verify_units

from mastofleet.commands import main
from mastofleet.deploys import nginx
from mastofleet.model import Role
from mastofleet.plan.files import SecretValues, host_files
from mastofleet.project.fleet import load_fleet

CI_EXAMPLES = 1000
SAMPLE = 8  # accepted fleets, of distinct files, whose files the tools check
settings.register_profile(
    "ci", max_examples=CI_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "dev",
    max_examples=int(os.environ.get("MASTOFLEET_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
PROFILE = os.environ.get("MASTOFLEET_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def cached_connectors(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyinfra scans the installed packages' entry points for its connectors on every inventory it
    builds (a third of a check's time); they do not change while the test runs."""
    monkeypatch.setattr(connectors, "get_all_connectors", functools.cache(connectors.get_all_connectors))


def checked(inventory: Path) -> tuple[int, str]:
    """Exit code and output of `mastofleet check INVENTORY`, run in this process."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = main(["check", str(inventory)])
    return code, output.getvalue()


def rendered(inventory: Path) -> dict[str, Any]:
    """What the tools check of an accepted fleet: the balancer's site, each app host's units, each host's table."""
    fleet, _ = load_fleet(str(inventory))
    files = {
        host.name: {item.path: item.content for item in host_files(fleet, host, SecretValues())} for host in fleet.hosts
    }
    units = {
        host.name: {
            path.rsplit("/", 1)[1]: content
            for path, content in files[host.name].items()
            if path.endswith((".service", ".timer")) and path.startswith("/etc/systemd/system/")
        }
        for host in fleet.with_role(Role.app)
    }
    return {
        "fleet": fleet,
        "units": units,
        "ports": {host.name: host.streaming.ports for host in fleet.with_role(Role.app)},
        "tables": {name: host_files_["/etc/mastofleet/firewall.nft"] for name, host_files_ in files.items()},
    }


@pytest.mark.usefixtures("cached_connectors")
def test_check_never_crashes_and_what_it_accepts_the_tools_accept(tmp_path, capsys):
    runs = {"examples": 0, "tracebacks": 0, "accepted": 0, "refused": 0, "bad input": 0}
    accepted: list[dict[str, Any]] = []
    projects = tmp_path / "projects"
    projects.mkdir()

    @settings(settings.get_profile(PROFILE))
    @given(st.data())
    def check_a_mutated_fleet(data: st.DataObject) -> None:
        document = fresh_document()
        done = [data.draw(mutation(document)) for _ in range(data.draw(st.integers(min_value=1, max_value=3)))]
        inventory = write_project(projects / str(len(list(projects.glob("*")))), document)
        try:
            code, output = checked(inventory)
            if code == 0:
                accepted.append(rendered(inventory))
        except Exception:
            runs["examples"] += 1
            runs["tracebacks"] += 1
            raise AssertionError(f"check or render crashed after {done}:\n{traceback.format_exc()}") from None
        assert code in (0, 1, 2), f"exit {code} after {done}:\n{output}"
        assert "Traceback" not in output, output
        assert code != 2 or "cannot read the inventory" in output or "not a path" in output, output
        runs["examples"] += 1
        runs[{0: "accepted", 1: "refused", 2: "bad input"}[code]] += 1

    check_a_mutated_fleet()
    tools = check_the_sample(accepted, tmp_path / "tools")
    with capsys.disabled():
        print(
            f"\nhypothesis ({PROFILE}): {runs['examples']} examples, {runs['tracebacks']} tracebacks; {runs}; {tools}"
        )
    assert runs["tracebacks"] == 0
    assert PROFILE != "ci" or runs["examples"] >= CI_EXAMPLES


def serving_site(fleet: Any, directory: Path) -> str:
    """The first balancer's site, with its certificate and cache where `nginx_test` puts them."""
    balancer = fleet.with_role(Role.lb)[0]
    content = next(
        item.content for item in nginx.files_for(fleet, balancer, SecretValues()) if item.path.endswith("/serving.conf")
    )
    certificate, key = nginx.certificate_paths(fleet)
    return (
        content.replace(certificate, str(directory / "site.crt"))
        .replace(key, str(directory / "site.key"))
        .replace("/var/cache/nginx/mastodon", str(directory / "cache"))
    )


def check_the_sample(accepted: list[dict[str, Any]], root: Path) -> dict[str, int]:
    """Run the tools once per distinct file of an evenly spread sample of the accepted fleets."""
    distinct = list({repr((files["units"], files["tables"])): files for files in accepted}.values())
    step = max(1, len(distinct) // SAMPLE)
    sample = distinct[::step][:SAMPLE]
    seen: set[str] = set()
    counts = {"fleets": len(sample), "nginx": 0, "systemd": 0, "nft": 0}

    def fresh(text: str) -> Path | None:
        if text in seen:
            return None
        seen.add(text)
        directory = root / str(len(seen))
        directory.mkdir(parents=True)
        return directory

    for files in sample:
        fleet = files["fleet"]
        directory = fresh(serving_site(fleet, root)) if fleet.with_role(Role.lb) else None
        if directory:
            result = nginx_test(directory, serving_site(fleet, directory))
            assert result.returncode == 0, result.stderr
            counts["nginx"] += 1
        for host, units in files["units"].items():
            directory = fresh(repr(sorted(units.items())))
            if directory:
                instances = {"mastodon-streaming@.service": files["ports"][host]}
                result = verify_units(directory, units, instances)
                assert (result.returncode, result.stdout + result.stderr) == (0, ""), (
                    f"{host}: systemd-analyze verify said:\n{result.stdout}{result.stderr}\nunits: {sorted(units)}"
                )
                counts["systemd"] += 1
        for host, table in files["tables"].items():
            directory = fresh(table)
            if directory:
                result = nft_check(table, directory)
                assert result.returncode == 0, f"{host}: {result.stderr}"
                counts["nft"] += 1
    return counts


# Mutations that once ended in a traceback, kept as plain examples.


@pytest.mark.usefixtures("cached_connectors")
def test_a_sidekiq_layout_that_is_no_mapping_is_a_problem(tmp_path):
    document = fresh_document()
    document["app"]["sidekiq_layout"] = True
    code, output = checked(write_project(tmp_path / "project", document))
    assert code == 1
    assert "sidekiq_layout: is of type bool, not a mapping from host name to its Sidekiq processes" in output


@pytest.mark.usefixtures("cached_connectors")
def test_a_secrets_file_that_is_no_path_is_bad_input(tmp_path):
    document = fresh_document()
    document["all"]["secrets_file"] = 7
    code, output = checked(write_project(tmp_path / "project", document))
    assert code == 2
    assert "secrets_file is of type int, not a path" in output
