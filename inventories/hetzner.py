"""The Hetzner fleet: nixie (db, redis, lb, monitor), freud, fritz and franz (app), esme (edge).

The hosts, their groups, private addresses and server types are declared here: this is what
`mastofleet provision plan|apply` creates (with group_data/hetzner.py for the location, subnet and
image). Public addresses come from the Hetzner API, read by the label fleet=<fleet_name> when
HCLOUD_TOKEN is set, and cached in `hetzner.state.json` (or $MASTOFLEET_HETZNER_STATE): without a
token, or with MASTOFLEET_HETZNER_OFFLINE=1, the cache is used, so `check`, `render` and `--dry`
work offline. The committed state file is an example in documentation address ranges.
"""

from mastofleet.provision.inventory import HetznerInventory

_hetzner = HetznerInventory(__file__)

_nixie = _hetzner.host("nixie", "10.0.1.2", server_type="ccx33")
_freud = _hetzner.host("freud", "10.0.1.3", server_type="cpx42")
_fritz = _hetzner.host("fritz", "10.0.1.4", server_type="cpx42")
_franz = _hetzner.host("franz", "10.0.1.5", server_type="cpx42")
_esme = _hetzner.host("esme", "10.0.1.6", server_type="cpx22")

db = [_nixie]
redis = [_nixie]
lb = [_nixie]
app = [_freud, _fritz, _franz]
edge = [_esme]
monitor = [_nixie]
