"""References to secrets: the fleet names a secret, it never holds its value.

In group_data a secret is written `"secret:postgres_password"`; the value comes at deploy time from
the environment (`MASTOFLEET_SECRET_POSTGRES_PASSWORD`) or from the fleet's age-encrypted secrets
file (see `mastofleet.project.secrets`).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

PREFIX = "secret:"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

# The secrets Mastodon needs identical on every node; generated once by `mastofleet secrets init`.
MASTODON_SECRETS: dict[str, str] = {
    "SECRET_KEY_BASE": "secret_key_base",
    "VAPID_PRIVATE_KEY": "vapid_private_key",
    "VAPID_PUBLIC_KEY": "vapid_public_key",
    "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY": "active_record_encryption_primary_key",
    "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY": "active_record_encryption_deterministic_key",
    "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT": "active_record_encryption_key_derivation_salt",
}


def secret_name(reference: str) -> str:
    """The name inside a reference: `secret:postgres_password` -> `postgres_password`."""
    return reference.removeprefix(PREFIX)


def environment_variable(name: str) -> str:
    """The environment variable that may carry a secret instead of the secrets file."""
    return "MASTOFLEET_SECRET_" + name.upper()


def _check_reference(value: str) -> str:
    # The message never repeats the value: it may be the very secret that must not leak.
    if not value.startswith(PREFIX) or not NAME_PATTERN.match(secret_name(value)):
        raise ValueError(
            "a secret must be written as a reference like 'secret:postgres_password', never as "
            "its value; put the value in the secrets file (mastofleet secrets set NAME) or in "
            "the environment"
        )
    return value


SecretReference = Annotated[str, AfterValidator(_check_reference)]
