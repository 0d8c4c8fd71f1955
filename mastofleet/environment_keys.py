"""The keys Mastodon reads: kept here for old imports; the model holds them (`mastofleet.model.environment_keys`)."""

from mastofleet.model.environment_keys import KNOWN_KEYS, REMOVED_KEYS

__all__ = ["KNOWN_KEYS", "REMOVED_KEYS"]
