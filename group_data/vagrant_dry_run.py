"""Settings of the reduced Vagrant fleet on this machine only (`inventories/vagrant_dry_run.py`):
the stand-in application that replaces Mastodon's Rails code (rubygems, Node's repository and
Mastodon's git cannot be reached here), under the same units, from Debian's packages, as on the local
fleet, and no backups (no object store can be reached).

group_data/vagrant.py (network, TLS, secrets file, SSH sources) applies as well.
"""

instance = {
    "source": {"git_url": None, "path": "tests/fixtures/standin"},
    "install": {
        "ruby": "debian",
        "node": "debian",
        "bundle_deployment": False,
        "bundle_local": True,
        "yarn_command": "yarnpkg",
        "system_packages": [
            "ruby",
            "ruby-bundler",
            "puma",
            "ruby-sidekiq",
            "ruby-pg",
            "ruby-redis",
            "nodejs",
            "yarnpkg",
            "libjemalloc2",
            "postgresql-client",
            "git",
        ],
    },
}

backup = None
