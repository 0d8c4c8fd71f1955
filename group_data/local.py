"""Settings of the local fleet only (`inventories/local.py`): its network, its secrets, and the
stand-in application that replaces Mastodon's Rails code, which cannot be installed here
(rubygems is out of reach). The stand-in runs under the same units, from Debian's packages.
"""

from mastofleet.local.access import local_operators, root_login
from mastofleet.local.machines import GATEWAY, state_directory
from mastofleet.local.standin import standin_instance

private_network = "10.77.0.0/24"

instance = standin_instance()

tls = {"mode": "self-signed"}

# The media store: an S3 server on `outsider` (tests/support/media_fleet.py starts it for the tests
# that need it), addressed by IP on the private network; the hosts have no DNS to ask.
object_storage = {
    "provider": "s3",
    "endpoint": "http://10.77.0.16:9000",
    "region": "us-east-1",
    "bucket": "hachyderm-media",
    "alias_host": "media.hachyderm.example",
    "access_key": "secret:object_storage_access_key",
    "secret_key": "secret:object_storage_secret_key",
}
edge = {"resolvers": ["10.77.0.1"], "media_cache_mb": 1024, "site_cache_mb": 256}

secrets_file = str(state_directory() / "secrets.json")
age_key_file = str(state_directory() / "age.key")

# The operator the local fleet is deployed as: `deploy`, with this machine's local-fleet key
# (known once `mastofleet local up` made it). Root keeps its key login here, because the harness
# (`mastofleet local ssh`, the tests' helpers) and branches that predate operators log in as root;
# the tests turn it off to prove the cut-off (MASTOFLEET_LOCAL_ROOT_LOGIN=off).
operators = local_operators()
access = {"root_login": root_login(), "ssh_sources": [f"{GATEWAY}/32"]}

# No backups on the shared local fleet by default: its S3 server runs only while a test needs it,
# and an archive that cannot be reached makes WAL pile up. tests/fleet/inventories/backup.py turns
# them on against a TLS S3 server on outsider.
backup = None
