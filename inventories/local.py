"""The same fleet as `hetzner.py`, as systemd-nspawn hosts on this machine (`mastofleet local up`).

Only addresses and connection settings differ; the groups and group_data are the same.
"""

from mastofleet.local.machines import MACHINES, ssh_key_path


def _host(name):
    address = str(MACHINES[name].address)
    return (
        name,
        {
            "ssh_hostname": address,
            "ssh_user": "root",
            "ssh_key": str(ssh_key_path()),
            "ssh_strict_host_key_checking": "no",
            "ssh_known_hosts_file": "/dev/null",
            "private_address": address,
            "public_address": address,
        },
    )


db = [_host("nixie")]
redis = [_host("nixie")]
lb = [_host("nixie")]
app = [_host("freud"), _host("fritz"), _host("franz")]
edge = [_host("esme")]
