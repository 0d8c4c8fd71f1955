"""The local fleet in migration mode: the same hosts as inventories/local.py, with the old server
`alice` (tests/support/media_fleet.py) as the media origin. Used by tests/fleet/test_media_migration.py
and bench/media_edge.py only, so the shared local fleet never falls back to an old server otherwise."""

from mastofleet.local.inventory import local_host
from mastofleet.local.machines import state_directory

_MIGRATION = {
    "origin": "http://10.77.0.17:8080",
    "copy_bandwidth": "40M",
    "copy_transfers": 4,
    "copy_interval": "1h",
    # slow enough that a test can kill the service in the middle of an upload of a large file
    "writeback_bandwidth_mb": 4,
    "record_file": str(state_directory() / "media-migration.json"),
}


def _host(name):
    return local_host(name, media_migration=_MIGRATION)


db = [_host("nixie")]
redis = [_host("nixie")]
lb = [_host("nixie")]
app = [_host("freud"), _host("fritz"), _host("franz")]
edge = [_host("esme")]
monitor = [_host("nixie")]
# group_data/local.py applies to the hosts of a group named `local` (pyinfra names one after the file)
local = [_host(name) for name in ("nixie", "freud", "fritz", "franz", "esme")]
