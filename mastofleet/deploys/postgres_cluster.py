"""Where Debian's PostgreSQL cluster of the fleet lives: its configuration, pg_hba, data and unit.

Written once here for every role that touches the cluster (postgres, standby, backup, retirement).
"""

from __future__ import annotations

from mastofleet.model import Postgres


def configuration_directory(settings: Postgres) -> str:
    return f"/etc/postgresql/{settings.version}/main"


def hba_path(settings: Postgres) -> str:
    return f"{configuration_directory(settings)}/pg_hba.conf"


def data_directory(settings: Postgres) -> str:
    return f"/var/lib/postgresql/{settings.version}/main"


def cluster_service(settings: Postgres) -> str:
    """Debian's unit of the cluster (without `.service`, as systemctl accepts it)."""
    return f"postgresql@{settings.version}-main"
