"""Settings of the reduced Vagrant fleet on this machine only (`inventories/vagrant_dry_run.py`):
the stand-in application that replaces Mastodon's Rails code (rubygems, Node's repository and
Mastodon's git cannot be reached here), under the same units, from Debian's packages, as on the local
fleet, and no backups (no object store can be reached).

group_data/vagrant.py (network, TLS, secrets file, SSH sources) applies as well.
"""

from mastofleet.local.standin import standin_instance

instance = standin_instance()

backup = None
