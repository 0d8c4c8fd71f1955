"""The local fleet with backups on: pgBackRest to the TLS S3 server on outsider
(tests/support/backup_fleet.py). Used by tests/fleet/test_backup.py and bench/backup.py only, so
the shared local fleet never archives WAL to a store that is not running otherwise."""

import sys
from pathlib import Path

from mastofleet.local.inventory import local_host

# The store's helpers are test code (tests/support), which pyinfra and mastofleet do not put on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from support.backup_fleet import BUCKET, ca_path, endpoint  # noqa: E402

_BACKUP = {
    "endpoint": endpoint(),
    "region": "us-east-1",
    "bucket": BUCKET,
    "ca_file": str(ca_path()),
    # small, so the size guard can be seen to work on the local disk
    "archive_queue_max_mb": 256,
    "archive_timeout": 30,
}


def _host(name):
    return local_host(name, backup=_BACKUP)


db = [_host("nixie")]
redis = [_host("nixie")]
lb = [_host("nixie")]
app = [_host("freud"), _host("fritz"), _host("franz")]
edge = [_host("esme")]
monitor = [_host("nixie")]
# group_data/local.py applies to the hosts of a group named `local` (pyinfra names one after the file)
local = [_host(name) for name in ("nixie", "freud", "fritz", "franz", "esme")]
