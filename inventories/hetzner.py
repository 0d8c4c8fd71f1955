"""The Hetzner fleet: nixie (db, redis, lb), freud, fritz and franz (app), esme (edge).

Addresses come from the state file (`inventories/hetzner.state.json`, or $MASTOFLEET_HETZNER_STATE),
which `mastofleet provision apply` keeps current from the Hetzner API; the committed example lets
`mastofleet check` and `render` work on a fresh clone without credentials.
"""

import json
import os
from pathlib import Path

_state_path = Path(os.environ.get("MASTOFLEET_HETZNER_STATE", Path(__file__).with_name("hetzner.state.json")))
_servers = json.loads(_state_path.read_text())["servers"]


def _host(name):
    server = _servers[name]
    return (
        name,
        {
            "ssh_hostname": server["public_address"],
            "ssh_user": os.environ.get("MASTOFLEET_SSH_USER", "root"),
            "private_address": server["private_address"],
            "public_address": server["public_address"],
        },
    )


db = [_host("nixie")]
redis = [_host("nixie")]
lb = [_host("nixie")]
app = [_host("freud"), _host("fritz"), _host("franz")]
edge = [_host("esme")]
