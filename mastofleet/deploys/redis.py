"""Redis servers: the main one on the redis host, and a cache and a Sidekiq Redis of their own on
the hosts of `redis_cache` and `redis_sidekiq` (see mastofleet.views.redis_servers). Each is bound to
loopback and the private address, behind its own password; the cache keeps nothing on disk.
"""

from __future__ import annotations

import hashlib

from pyinfra import host as current_host
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, server, systemd

from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.operations import changed, put_files, role_deploy, service_running
from mastofleet.model import Fleet, Host, Role
from mastofleet.model.secrets_reference import secret_name
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.metrics_endpoints import redis_endpoints
from mastofleet.views.openings import Opening, from_roles
from mastofleet.views.redis_servers import PURPOSES, REDIS_ROLES, RedisServer, servers_on
from mastofleet.views.templating import render

# The operators' own Redis user, with every command: its password is made on the host at the first
# deploy and never leaves it (root-only); redis.conf includes the user's line, kept as a SHA-256.
ADMIN_USER = "admin"
ADMIN_PASSWORD_FILE = "/etc/redis/admin.password"
ADMIN_ACL_FILE = "/etc/redis/mastofleet-admin.acl.conf"


def admin_user() -> None:
    """Create the admin user's password and ACL line once (a rerun keeps them)."""
    if current_host.get_fact(File, path=ADMIN_ACL_FILE):
        return
    server.shell(
        name="Create the Redis admin user (its password stays on this host, root only)",
        commands=[
            f"install -d -m 755 /etc/redis && umask 077"
            f" && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > {ADMIN_PASSWORD_FILE}"
            f" && printf 'user {ADMIN_USER} on #%s ~* &* +@all\\n'"
            f" \"$(tr -d '\\n' < {ADMIN_PASSWORD_FILE} | sha256sum | cut -d' ' -f1)\" > {ADMIN_ACL_FILE}"
            f" && chown redis:redis {ADMIN_ACL_FILE} && chmod 640 {ADMIN_ACL_FILE}"
        ],
    )


def config_file(fleet: Fleet, host: Host, redis_server: RedisServer, secrets: SecretValues) -> ConfigFile:
    return ConfigFile(
        redis_server.purpose.config_path,
        render(
            "redis/redis.conf.j2",
            fleet=fleet,
            host=host,
            server=redis_server,
            redis=redis_server.settings,
            # the password only as its SHA-256: the ACL user's, never in the clear in the file
            admin_file=ADMIN_ACL_FILE,
            password_hash=hashlib.sha256(secrets[secret_name(redis_server.settings.password)].encode()).hexdigest(),
        ),
        mode="640",
        user="redis",
        group="redis",
        sensitive=True,
    )


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    return [config_file(fleet, host, redis_server, secrets) for redis_server in servers_on(fleet, host)]


def run_server(fleet: Fleet, host: Host, redis_server: RedisServer, secrets: SecretValues) -> None:
    """Its data directory, its configuration, its unit running; restarted when the configuration changed."""
    if redis_server.purpose.instance:
        files.directory(
            name=f"Create the data directory of the {redis_server.purpose.name} Redis",
            path=redis_server.purpose.data_directory,
            user="redis",
            group="redis",
            mode="750",
        )
    rendered = config_file(fleet, host, redis_server, secrets)
    configuration = put_files([rendered])
    service_running(redis_server.purpose.service, restart_when=changed(configuration), inputs=[rendered.path])


def retire_servers(host: Host, running: list[RedisServer]) -> None:
    """A Redis this host no longer runs is stopped and disabled (its data directory stays)."""
    kept = {redis_server.purpose.name for redis_server in running}
    for purpose in PURPOSES:
        if purpose.name in kept:
            continue
        # Debian's default instance is started by the package; the others exist only once configured.
        if purpose.instance and not current_host.get_fact(File, path=purpose.config_path):
            continue
        systemd.service(
            name=f"Stop and disable {purpose.service} (not a Redis of this host)",
            service=purpose.service,
            running=False,
            enabled=False,
        )
        if purpose.instance:
            files.file(name=f"Remove {purpose.config_path}", path=purpose.config_path, present=False)


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    """Each Redis server of this host, to the app hosts (and retired ones until they are gone)."""
    sources = from_roles(fleet, Role.app, Role.retired)
    return [
        Opening(f"redis {server.purpose.name}", server.settings.port, sources) for server in servers_on(fleet, host)
    ]


@role_deploy("Redis")
def redis(fleet: Fleet, host: Host, secrets: SecretValues) -> None:
    """
    Install Debian's Redis and run each Redis server the model gives this host: the main one
    (`redis-server`, RDB snapshots and the append-only file on, never evicting), the Sidekiq Redis
    (`redis-server@sidekiq`, the same) and the cache Redis (`redis-server@cache`: nothing on disk,
    maxmemory with an LRU policy). Each listens on loopback and the private address only; the app
    logs in as its own ACL user, which may not administer the server or wipe it, and the nameless
    default user is off; operators administer it as `admin`, whose password is made on the host and
    stays there (`/etc/redis/admin.password`, root only). A Redis the host no longer runs is stopped
    and disabled.
    """
    apt.packages(name="Install Redis", packages=["redis-server"])
    admin_user()
    running = servers_on(fleet, host)
    for redis_server in running:
        run_server(fleet, host, redis_server, secrets)
    retire_servers(host, running)


def services(fleet: Fleet, host: Host) -> list[str]:
    """Every Redis server of the host: the main one, and the cache and Sidekiq ones when split."""
    return [redis_server.purpose.service for redis_server in servers_on(fleet, host)]


def _services(run: Run) -> None:
    redis(run.fleet, run.host, run.secrets)


COMPONENT = Component(
    name="redis",
    applies=with_role(*REDIS_ROLES),
    files=files_for,
    openings=firewall_rules,
    services=services,
    steps={Stage.SERVICES: _services},
    metrics=redis_endpoints,
)
