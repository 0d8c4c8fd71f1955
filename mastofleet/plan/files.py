"""Files the deploy puts on hosts, rendered from the fleet in one place.

Each role declares its files in its component (`mastofleet.deploys.component`); the deploy uploads
what they return and `mastofleet render` writes the same list to disk with the secrets masked, so a
review shows exactly what a deploy would change.
"""

from __future__ import annotations

from mastofleet.deploys import registry
from mastofleet.model import Fleet, Host
from mastofleet.views.config_file import ConfigFile, RoleFiles, SecretValues

__all__ = ["ConfigFile", "RoleFiles", "SecretValues", "host_files"]


def host_files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    """Every file the deploy writes on `host`, in role order."""
    return [item for component in registry.on_host(fleet, host) for item in component.files(fleet, host, secrets)]
