"""References to secrets: kept here for old imports; the model holds them (`mastofleet.model.secrets_reference`)."""

from mastofleet.model.secrets_reference import (
    MASTODON_SECRETS,
    NAME_PATTERN,
    PREFIX,
    SecretReference,
    environment_variable,
    secret_name,
)

__all__ = ["MASTODON_SECRETS", "NAME_PATTERN", "PREFIX", "SecretReference", "environment_variable", "secret_name"]
