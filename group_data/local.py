"""Settings of the local fleet only (`inventories/local.py`): its network, its secrets, and the
stand-in application that replaces Mastodon's Rails code, which cannot be installed here
(rubygems is out of reach). The stand-in runs under the same units, from Debian's packages.
"""

from mastofleet.local.machines import state_directory

private_network = "10.77.0.0/24"

code_source = {"git_url": None, "path": "tests/fixtures/standin"}
install = {
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
}

tls = {"mode": "self-signed"}

secrets_file = str(state_directory() / "secrets.json")
age_key_file = str(state_directory() / "age.key")
