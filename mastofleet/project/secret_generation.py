"""Generate the secrets a Mastodon fleet needs, in the formats Mastodon expects."""

from __future__ import annotations

import base64
import secrets
import string

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def secret_key_base() -> str:
    """Like `rails secret`: 128 hex characters."""
    return secrets.token_hex(64)


def vapid_key_pair() -> tuple[str, str]:
    """A P-256 key pair as the web-push gem stores it: urlsafe base64 of the raw private scalar
    and of the uncompressed public point (65 bytes)."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    scalar = private_key.private_numbers().private_value.to_bytes(32, "big")
    point = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(scalar).decode(), base64.urlsafe_b64encode(point).decode()


def random_text(length: int = 32) -> str:
    """Letters and digits, like `bin/rails db:encryption:init` and safe in any config file."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


# Secrets whose replacement loses something for good: `secrets init --force` replaces one only when
# it is named with --replace, and says what is lost.
IRREPLACEABLE = {
    "secret_key_base": "every session, remember-me cookie and signed link stops working (everyone is logged out)",
    "vapid_private_key": "every browser's Web Push subscription stops working",
    "vapid_public_key": "every browser's Web Push subscription stops working",
    "active_record_encryption_primary_key": "what Mastodon encrypted with it (two-factor secrets among it) cannot be read again",
    "active_record_encryption_deterministic_key": "what Mastodon encrypted with it cannot be read or found again",
    "active_record_encryption_key_derivation_salt": "every key derived from it changes: encrypted data cannot be read again",
}


def initial_secrets() -> dict[str, str]:
    """Every secret `mastofleet secrets init` creates once for a new fleet."""
    vapid_private, vapid_public = vapid_key_pair()
    return {
        "secret_key_base": secret_key_base(),
        "vapid_private_key": vapid_private,
        "vapid_public_key": vapid_public,
        "active_record_encryption_primary_key": random_text(),
        "active_record_encryption_deterministic_key": random_text(),
        "active_record_encryption_key_derivation_salt": random_text(),
        "postgres_password": random_text(40),
        "redis_password": random_text(40),
        # used once a fleet gives the cache or the Sidekiq queues a Redis of their own
        "cache_redis_password": random_text(40),
        "sidekiq_redis_password": random_text(40),
    }
