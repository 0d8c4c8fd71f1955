"""Redis on the redis host: loopback and the private address, a password, persistence on."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import apt

from mastofleet.files import ConfigFile, SecretValues
from mastofleet.model import Fleet, Host
from mastofleet.operations import changed, put_files, service_running
from mastofleet.secrets_reference import secret_name
from mastofleet.templating import render


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    return [
        ConfigFile(
            "/etc/redis/redis.conf",
            render(
                "redis/redis.conf.j2",
                fleet=fleet,
                host=host,
                redis=fleet.redis,
                password=secrets[secret_name(fleet.redis.password)],
            ),
            mode="640",
            user="redis",
            group="redis",
            sensitive=True,
        )
    ]


@deploy("Redis")
def redis(fleet: Fleet, host: Host, secrets: SecretValues) -> None:
    """
    Install Debian's Redis bound to loopback and the private address only, behind a password,
    with RDB snapshots and the append-only file on: Sidekiq's queues survive a restart.
    """
    apt.packages(name="Install Redis", packages=["redis-server"])
    rendered = files_for(fleet, host, secrets)
    configuration = put_files(rendered)
    service_running("redis-server", restart_when=changed(configuration), inputs=[item.path for item in rendered])
