"""Migration mode on edge hosts: the write-back service and the background copy.

The write-back program (mastofleet/agents/media_edge, shipped as the `media_edge` package) runs as
`mastofleet-media-writeback.service`; rclone copies everything else on a timer. Both read the
bucket's credentials from one root-only environment file. When migration mode is off (or
finished), all of it is stopped and removed: edge hosts keep no state of the migration.
"""

from __future__ import annotations

import json

from pyinfra import host as current_host
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, systemd

from mastofleet.agents import agent_sources
from mastofleet.deploys.component import Component, with_role
from mastofleet.deploys.operations import changed, put_files, role_deploy, service_running
from mastofleet.model import Fleet, Host, Role
from mastofleet.model.secrets_reference import secret_name
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.templating import render

LIBRARY = "/usr/local/lib/mastofleet"
PACKAGE_DIRECTORY = f"{LIBRARY}/media_edge"
SETTINGS_FILE = "/etc/mastofleet/media.json"
CREDENTIALS_FILE = "/etc/mastofleet/media-credentials.env"
STATE_DIRECTORY = "/var/lib/mastofleet-media"
ORIGIN_LOG = "/var/log/nginx/media-origin.log"
COPY_LOG = f"{STATE_DIRECTORY}/copy.log"
WRITEBACK = "mastofleet-media-writeback.service"
COPY = "mastofleet-media-copy.service"
COPY_TIMER = "mastofleet-media-copy.timer"
UNITS = (WRITEBACK, COPY, COPY_TIMER)
PACKAGES = ["python3-boto3", "rclone"]
UNIT_DIRECTORY = "/etc/systemd/system"


def program_files() -> list[ConfigFile]:
    """The write-back and report programs, as they are in this package."""
    return [ConfigFile(f"{PACKAGE_DIRECTORY}/{path.name}", path.read_text()) for path in agent_sources("media_edge")]


def settings_json(fleet: Fleet, host: Host) -> str:
    storage, migration = fleet.object_storage, fleet.media_migration
    assert storage is not None and migration is not None
    settings = {
        "endpoint": storage.endpoint,
        "region": storage.region,
        "bucket": storage.bucket,
        "origin": migration.origin_url,
        "permission": storage.permission,
        "origin_log": ORIGIN_LOG,
        "state_directory": STATE_DIRECTORY,
        "bandwidth_mb": migration.writeback_bandwidth_mb,
        "copy_log": COPY_LOG,
    }
    return json.dumps(settings, indent=2) + "\n"


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    storage, migration = fleet.object_storage, fleet.media_migration
    if not fleet.migrating_media or storage is None or migration is None:
        return []
    context = {
        "storage": storage,
        "migration": migration,
        "library": LIBRARY,
        "settings_file": SETTINGS_FILE,
        "credentials_file": CREDENTIALS_FILE,
        "state_directory": STATE_DIRECTORY,
        "copy_log": COPY_LOG,
    }
    credentials = (
        f"AWS_ACCESS_KEY_ID={secrets[secret_name(storage.access_key)]}\n"
        f"AWS_SECRET_ACCESS_KEY={secrets[secret_name(storage.secret_key)]}\n"
    )
    return [
        *program_files(),
        ConfigFile(SETTINGS_FILE, settings_json(fleet, host)),
        ConfigFile(CREDENTIALS_FILE, credentials, mode="600", sensitive=True),
        *(ConfigFile(f"{UNIT_DIRECTORY}/{unit}", render(f"edge/{unit}.j2", **context)) for unit in UNITS),
    ]


@role_deploy("Media migration (write-back and background copy)")
def media_migration(fleet: Fleet, host: Host, secrets: SecretValues) -> None:
    """
    Run the write-back service (restarted when its program, settings or credentials change) and
    enable the background copy's timer.
    """
    apt.packages(name="Install boto3 and rclone", packages=PACKAGES)
    files.directory(name=f"Create {STATE_DIRECTORY}", path=STATE_DIRECTORY, mode="700")
    rendered = files_for(fleet, host, secrets)
    unit_files = [config for config in rendered if config.path.startswith(UNIT_DIRECTORY)]
    program = put_files([config for config in rendered if config not in unit_files])
    units = put_files(unit_files)
    inputs = [config.path for config in rendered if config.path != f"{UNIT_DIRECTORY}/{COPY}"]
    service_running(WRITEBACK, restart_when=changed(program, units), daemon_reload_when=changed(units), inputs=inputs)
    systemd.service(name=f"Enable and start {COPY_TIMER}", service=COPY_TIMER, running=True, enabled=True)


@role_deploy("No media migration")
def no_media_migration() -> None:
    """Stop and remove whatever migration mode left on this host (after `mastofleet media finish`)."""
    removed = []
    for unit in UNITS:
        if current_host.get_fact(File, path=f"{UNIT_DIRECTORY}/{unit}"):
            systemd.service(name=f"Stop and disable {unit}", service=unit, running=False, enabled=False)
        removed.append(files.file(name=f"Remove {unit}", path=f"{UNIT_DIRECTORY}/{unit}", present=False))
    # The origin log too: a later migration's write-back would otherwise start on this one's lines.
    for path in (SETTINGS_FILE, CREDENTIALS_FILE, ORIGIN_LOG):
        removed.append(files.file(name=f"Remove {path}", path=path, present=False))
    for path in (PACKAGE_DIRECTORY, STATE_DIRECTORY):
        removed.append(files.directory(name=f"Remove {path}", path=path, present=False))
    systemd.daemon_reload(name="Reload systemd units", _if=changed(removed))


def services(fleet: Fleet, host: Host) -> list[str]:
    return ["mastofleet-media-writeback.service"] if fleet.migrating_media else []


# Deployed by the edge role (its nginx serves the write-back), which calls `media_migration`.
COMPONENT = Component(name="media_migration", applies=with_role(Role.edge), files=files_for, services=services)
