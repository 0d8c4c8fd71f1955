"""Zero-downtime upgrade and rollback of the running local fleet, under load.

The application is the stand-in (tests/fixtures/standin; Mastodon's Rails code needs rubygems,
which is out of reach): v1 is the fixture as committed, v2 the same code with VERSION "v2" — a new
release directory, new pre- and post-deployment migrations (`release-v2`, `release-v2-post`), and
the same streaming code. Everything else is real: nginx on nixie, Puma, Sidekiq and node under
the deployed units, PostgreSQL through PgBouncer, Redis.

A load generator sends HTTPS requests through nixie's nginx during each whole rollout (reads that
write a row, and jobs enqueued on every Mastodon queue); afterwards every job must have run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fleet_support import (
    APP_HOSTS,
    INVENTORY,
    MINIMUM_REQUESTS,
    live_releases,
    lost_jobs,
    mastofleet,
    migrations,
    on_host,
    served_by,
    streaming_pids,
    under_load,
)

from support.deploy_run import PROJECT, DeployResult

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]


@pytest.fixture(scope="module")
def standin_versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The stand-in in a v2 (VERSION only) and a broken v3 (Puma cannot boot it)."""
    base = tmp_path_factory.mktemp("standin")
    versions = {}
    for version in ("v2", "v3"):
        directory = base / version
        shutil.copytree(PROJECT / "tests/fixtures/standin", directory)
        (directory / "VERSION").write_text(f"{version}\n")
        versions[version] = directory
    (versions["v3"] / "config.ru").write_text('raise "v3 does not boot"\n')
    return versions


@pytest.fixture(scope="module")
def upgraded(first_deploy: DeployResult, standin_versions: dict[str, Path]):
    """v1 -> v2 under load, with the figures."""
    before = {"live": live_releases(), "streaming": streaming_pids(), "served": served_by()}
    result, figures, seconds = under_load(
        "upgrade", INVENTORY, "--version", "v4.6.6", "--code", str(standin_versions["v2"]), "--keep-rollback"
    )
    print(f"\nupgrade v1 -> v2: {seconds:.1f} s wall time; {figures.summary()}")
    return before, result, figures


def test_upgrade_serves_every_request_and_loses_no_job(upgraded) -> None:
    _, result, figures = upgraded
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert figures.requests >= MINIMUM_REQUESTS, figures.summary()
    assert figures.failures == 0, figures.summary()
    assert set(figures.tokens.values()) == {"default", "push", "pull", "ingress", "mailers", "scheduler", "fasp"}
    lost = lost_jobs(figures)
    print(f"jobs enqueued during the upgrade: {len(figures.tokens)}, lost: {len(lost)}")
    assert not lost, f"{len(lost)} of {len(figures.tokens)} jobs never ran: {list(lost.items())[:5]}"


def test_after_the_upgrade_every_host_serves_v2(upgraded) -> None:
    before, _, figures = upgraded
    assert {version for _, version in before["served"]} == {"v1"}
    assert served_by() == {(host, "v2") for host in APP_HOSTS}
    assert figures.versions["v1"] and figures.versions["v2"], "the load saw the old release, then the new one"
    releases = live_releases()
    assert len(set(releases.values())) == 1 and next(iter(releases.values())).startswith("v4.6.6-")
    for host in APP_HOSTS:
        assert on_host(host, "readlink /var/lib/mastofleet/release/previous").endswith(before["live"][host])


def test_the_pre_deployment_migrations_ran_and_the_post_deployment_ones_wait(upgraded) -> None:
    """--keep-rollback: the pre-deployment migrations ran once, straight to PostgreSQL; the
    post-deployment ones (which may remove what v1 needs) wait for the next deploy of v2."""
    _, result, _ = upgraded
    applied = migrations()
    assert applied.count("release-v2") == 1 and "release-v2-post" not in applied
    assert "post-deployment migrations held back: `mastofleet rollback` stays possible" in result.stdout


def test_streaming_kept_running_because_its_code_did_not_change(upgraded) -> None:
    before, _, _ = upgraded
    assert streaming_pids() == before["streaming"]


def test_rollback_serves_every_request(upgraded) -> None:
    """Back to the previous release through the same rollout; migrations are not run (nor reversed)."""
    applied = migrations()
    result, figures, seconds = under_load("rollback", INVENTORY)
    print(f"\nrollback v2 -> v1: {seconds:.1f} s wall time; {figures.summary()}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert figures.requests >= MINIMUM_REQUESTS, figures.summary()
    assert figures.failures == 0, figures.summary()
    lost = lost_jobs(figures)
    assert not lost, f"{len(lost)} jobs never ran"
    assert served_by() == {(host, "v1") for host in APP_HOSTS}
    assert migrations() == applied


def test_a_host_that_does_not_come_back_stops_the_rollout_with_the_rest_serving(
    upgraded, standin_versions: dict[str, Path]
) -> None:
    """v3 cannot boot: the first app host's turn fails its health checks, the run stops there, that
    host stays out of the balancer, the others go on serving v1 from the processes they have (their
    `live` already points at v3, as the switch comes before the turns) — and a deploy of the
    model's version brings everything back. Runs after the rollback (pytest keeps file order)."""
    result, figures, _ = under_load(
        "upgrade",
        INVENTORY,
        "--version",
        "v4.6.7",
        "--code",
        str(standin_versions["v3"]),
        "--data",
        "rollout_health_timeout=20",
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "freud did not become healthy within 20 s: the rollout stops here" in output
    assert "STOPPED" in output and "mastofleet rollback" in output
    assert figures.failures == 0, figures.summary()
    assert on_host("nixie", "readlink /etc/nginx/conf.d/mastodon.conf").endswith("drained-freud.conf")
    assert served_by() == {("fritz", "v1"), ("franz", "v1")}
    assert all(release.startswith("v4.6.7-") for release in live_releases().values())

    recovered = mastofleet("deploy", INVENTORY)
    assert recovered.returncode == 0, recovered.stdout[-4000:] + recovered.stderr[-4000:]
    assert on_host("nixie", "readlink /etc/nginx/conf.d/mastodon.conf").endswith("serving.conf")
    assert served_by() == {(host, "v1") for host in APP_HOSTS}


def test_a_rollback_after_the_post_deployment_migrations_is_refused(upgraded) -> None:
    """The deploy above ran v1's post-deployment migrations (it holds none back): going back to the
    release before would meet a schema made for v1, so the rollback is refused, nothing changed."""
    before = live_releases()
    refused = mastofleet("rollback", INVENTORY)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "the post-deployment migrations of v4.6.5" in refused.stderr and "Nothing was changed" in refused.stderr
    assert "--keep-rollback" in refused.stderr
    assert live_releases() == before
