"""The people who run the fleet: their accounts, SSH keys and source networks."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from ipaddress import IPv4Network, IPv6Network

from pydantic import Field, field_validator

from mastofleet.model.base import Strict

OPERATOR_NAME_PATTERN = re.compile(r"^[a-z]([a-z0-9_-]{0,30}[a-z0-9])?$")
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


def ssh_key_problem(text: str) -> str | None:
    """Why `text` is not one OpenSSH public key line, or None. Never repeats the text itself."""
    if "PRIVATE KEY" in text:
        return "this is a PRIVATE key; put only the public key (the .pub file) here, and replace the leaked key"
    parts = text.split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return f"not an OpenSSH public key: it must start with one of {', '.join(SSH_KEY_TYPES)}"
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return "the key's base64 body is damaged"
    # The blob starts with its own type name (a 4-byte length, then the name): a pasted key that was
    # cut or glued to another one shows here.
    length = int.from_bytes(blob[:4], "big")
    if blob[4 : 4 + length] != parts[0].encode():
        return f"the key's body does not belong to a {parts[0]} key"
    return None


class Operator(Strict):
    """A person who runs the fleet: an account of their own, their SSH keys, the networks they come from."""

    name: str = Field(description="Login name of the operator's own account (never a shared one).")
    ssh_keys: list[str] = Field(min_length=1, description="OpenSSH public keys, one line each (`ssh-ed25519 AAAA...`).")
    source_cidrs: list[IPv4Network | IPv6Network] = Field(
        min_length=1, description="Networks the operator connects from; the only sources the firewall opens SSH to."
    )

    @field_validator("name")
    @classmethod
    def _login_name(cls, value: str) -> str:
        if not OPERATOR_NAME_PATTERN.match(value):
            raise ValueError(
                "an operator name must be a login name: a lowercase letter, then letters, digits, '_' or '-', "
                "ending in a letter or digit"
            )
        return value

    @field_validator("source_cidrs", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        # one clear message per entry instead of pydantic's two (one per address family)
        if not isinstance(value, list):
            return value
        parsed = []
        for index, item in enumerate(value):
            try:
                parsed.append(ipaddress.ip_network(str(item)))
            except ValueError as error:
                raise ValueError(f"source_cidrs[{index}]: {error}; write a network like 198.51.100.0/24") from None
        return parsed

    @field_validator("ssh_keys")
    @classmethod
    def _public_keys(cls, value: list[str]) -> list[str]:
        for index, key in enumerate(value):
            problem = ssh_key_problem(key.strip())
            if problem:
                raise ValueError(f"ssh_keys[{index}]: {problem}")
        return [key.strip() for key in value]
