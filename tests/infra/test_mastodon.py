"""The Mastodon application on app hosts: the shared `.env.production`, the release and `live`.

The env file holds secrets: its values never leave the hosts here, except a password a login test
forwards over stdin. Assertions are on derived facts only (key names, sha256, owner and mode).
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

import pytest
from infra_support import Target, assert_files_as_rendered, environment_keys, environment_values

from mastofleet.deploys import mastodon
from mastofleet.model.environment_keys import removed_keys, unknown_keys
from mastofleet.model.secrets_reference import MASTODON_SECRETS
from mastofleet.plan.files import SecretValues
from mastofleet.views.environment import database_endpoint


@pytest.fixture(scope="module")
def env_path(fleet) -> str:  # type: ignore[no-untyped-def]
    return mastodon.shared_environment_path(fleet.instance)


def test_environment_file_owner_and_mode(app_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """`.env.production` holds every secret: 0640, root's, readable by the application's group
    only, in a directory only root writes (so the app user cannot swap it for a link root follows)."""
    rendered = mastodon.files_for(fleet, app_host.model, SecretValues())
    assert (rendered[0].mode, rendered[0].user, rendered[0].group) == ("640", "root", fleet.instance.user)
    assert_files_as_rendered(app_host, rendered)
    directory = app_host.host.file(str(PurePosixPath(rendered[0].path).parent))
    assert (directory.user, directory.group, directory.mode) == ("root", fleet.instance.user, 0o750)


def test_environment_identical_on_every_app_host(fleet_ready, env_path: str) -> None:  # type: ignore[no-untyped-def]
    """One env for the whole fleet, byte for byte (compared by sha256 computed on each host)."""
    names = [host.name for host in fleet_ready.fleet.app_hosts]
    digests = {}
    for name in names:
        output = fleet_ready.target(name).output(f"sha256sum < {shlex.quote(env_path)}")
        digests[name] = output.split()[0]
    assert len(set(digests.values())) == 1, f"{env_path} differs between app hosts (sha256): {digests}"


def test_environment_has_only_known_keys(app_host: Target, env_path: str) -> None:
    """Every key is one Mastodon reads (a typo like `3_BUCKET=` is silently ignored by Mastodon),
    none is a removed one, none twice, and the shared secrets are all there."""
    keys = environment_keys(app_host, env_path)
    unknown = unknown_keys(keys)
    assert not unknown, f"{app_host.name}: keys Mastodon does not read: {unknown}"
    removed = removed_keys(keys)
    assert not removed, f"{app_host.name}: removed keys: {removed}"
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates, f"{app_host.name}: keys written twice: {duplicates}"
    missing = sorted(set(MASTODON_SECRETS) - set(keys))
    assert not missing, f"{app_host.name}: shared secrets missing: {missing}"


def test_environment_points_at_the_fleet(app_host: Target, fleet, env_path: str) -> None:  # type: ignore[no-untyped-def]
    """The non-secret values are the model's: database through PgBouncer (without prepared
    statements) on the db host, Redis on the redis host, the instance's domain."""
    address, port = database_endpoint(fleet)
    wanted = {
        "LOCAL_DOMAIN": fleet.instance.local_domain,
        "DB_HOST": address,
        "DB_PORT": str(port),
        "DB_NAME": fleet.postgres.database,
        "DB_USER": fleet.postgres.user,
        "REDIS_HOST": str(fleet.redis_host.private_address),
        "REDIS_PORT": str(fleet.redis.port),
    }
    if fleet.pgbouncer.enabled:
        wanted["PREPARED_STATEMENTS"] = "false"
    present = environment_values(app_host, env_path, list(wanted))
    assert present == wanted


def _live_target(target: Target, fleet) -> str:  # type: ignore[no-untyped-def]
    live = fleet.instance.live_directory
    assert target.host.file(live).is_symlink, f"{target.name}: {live} is not a symlink"
    return target.output(f"readlink {shlex.quote(live)}").strip()


def test_live_is_a_prepared_release(app_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """`live` is root's symlink (in the release record) to a directory under releases/, owned by the
    app user, whose preparation steps all ran (root's markers) and whose .env.production is the
    shared one."""
    instance = fleet.instance
    target = _live_target(app_host, fleet)
    release = PurePosixPath(target)
    assert release.parent == PurePosixPath(instance.releases_directory), f"{app_host.name}: live -> {target}"
    assert release.name.startswith(instance.version), (
        f"{app_host.name}: release {release.name} is not {instance.version}"
    )
    directory = app_host.host.file(target)
    assert directory.is_directory and directory.user == instance.user, f"{app_host.name}: {target}"
    record = app_host.host.file(instance.release_state_directory)
    assert (record.user, record.mode) == ("root", 0o755)
    # testinfra's File follows links: the link's own owner, by stat without -L
    assert app_host.output(f"stat -c %U {shlex.quote(instance.live_directory)}").strip() == "root"
    steps = app_host.output(f"ls -1 {shlex.quote(instance.release_state_directory)}/steps/{release.name}").split()
    assert {"bundle", "yarn", "assets"} <= set(steps), f"{app_host.name}: {target} prepared only {steps}"
    link = app_host.output(f"readlink {shlex.quote(target)}/.env.production").strip()
    assert link == mastodon.shared_environment_path(instance)


def test_same_release_live_on_every_app_host(fleet_ready, fleet) -> None:  # type: ignore[no-untyped-def]
    releases = {
        host.name: PurePosixPath(_live_target(fleet_ready.target(host.name), fleet)).name for host in fleet.app_hosts
    }
    assert len(set(releases.values())) == 1, f"app hosts serve different releases: {releases}"


@pytest.mark.parametrize("service", ["mastodon-web.service", "mastodon-sidekiq-*.service"])
def test_the_code_is_read_only_to_the_processes(app_host: Target, fleet, service: str) -> None:  # type: ignore[no-untyped-def]
    """In the mount namespace of a running process (entered as root, which a read-only mount
    stops too), the release refuses a new file; its tmp and log take one. Code that a compromised
    process could change would run outside the sandbox at the next migration."""
    running = app_host.output(f"systemctl list-units --state=running --no-legend --plain '{service}'").split()
    assert running, f"{app_host.name} runs no {service}"
    pid = app_host.output(f"systemctl show -P MainPID {running[0]}").strip()
    release = _live_target(app_host, fleet)

    def touch(directory: str) -> str:
        probe = shlex.quote(f"{directory}/.sandbox-probe")
        return app_host.output(
            f"nsenter -t {pid} -m -- sh -c 'touch {probe} && rm {probe} && echo writable' 2>&1 || true"
        ).strip()

    assert "Read-only file system" in touch(release), f"{app_host.name}: {service} can write its code"
    assert "Read-only file system" in touch(f"{release}/config")
    for writable in ("tmp", "log"):
        assert touch(f"{release}/{writable}") == "writable", f"{app_host.name}: {service} cannot write {writable}/"
