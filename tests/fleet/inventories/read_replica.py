"""The local fleet with a read replica: the same hosts as inventories/local.py, plus `hermine`
(booted only when named) in the db_replica group. Used by tests/fleet/test_read_replica.py and
bench/read_replica.py only, so the shared local fleet has no replica otherwise."""

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
db_replica = [_host("hermine")]
# group_data/local.py applies to the hosts of a group named `local` (pyinfra names one after the file)
local = [_host(name) for name in ("nixie", "freud", "fritz", "franz", "esme", "hermine")]
