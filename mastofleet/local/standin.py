"""The stand-in application of the fleets on this machine (the local fleet, the Vagrant dry run).

Mastodon's Rails code cannot be installed here (rubygems, Node's repository and Mastodon's git are
out of reach), so these fleets run tests/fixtures/standin under the same units, from Debian's
packages.
"""

from typing import Any

STANDIN_PACKAGES = (
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
)


def standin_instance() -> dict[str, Any]:
    """The `instance` fields that replace Mastodon's code by the stand-in; merged into group all's
    instance field by field, so the rest of the instance stays as it is there."""
    return {
        "source": {"git_url": None, "path": "tests/fixtures/standin"},
        "install": {
            "ruby": "debian",
            "node": "debian",
            "bundle_deployment": False,
            "bundle_local": True,
            "yarn_command": "yarnpkg",
            "system_packages": list(STANDIN_PACKAGES),
        },
    }
