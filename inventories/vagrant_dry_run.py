"""The reduced Vagrant fleet of `scripts/vagrant-dry-run`: nixie (db, redis, lb, monitor) and one app
host, freud. Boot it with `MASTOFLEET_VAGRANT_HOSTS=nixie,freud vagrant up --provider=lxc`.

group_data/vagrant.py applies to both (the `vagrant` group below), and group_data/vagrant_dry_run.py
(pyinfra names a group after this file) gives them the stand-in application, as on the local fleet:
this machine reaches Debian's packages but not rubygems, Node's repository or Mastodon's git.
"""

from mastofleet.vagrant.inventory import vagrant_host as _host

# freud is the only app host, so it serves every queue and is the one host on `scheduler`. Host data,
# so that it wins over group_data/app.py's layout for the full fleet whatever the groups' order.
_ONE_APP_HOST = {
    "freud": [
        {"name": "default", "queues": [["default", 8], ["push", 6], ["mailers", 2], ["pull", 1]], "threads": 10},
        {"name": "ingress", "queues": ["ingress"], "threads": 5},
        {"name": "scheduler", "queues": ["scheduler", "fasp"], "threads": 5},
    ],
}

db = [_host("nixie")]
redis = [_host("nixie")]
lb = [_host("nixie")]
app = [_host("freud", sidekiq_layout=_ONE_APP_HOST)]
monitor = [_host("nixie")]
vagrant = [_host("nixie"), _host("freud", sidekiq_layout=_ONE_APP_HOST)]
