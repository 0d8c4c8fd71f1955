"""The fleet's secret store: an age-encrypted file that can be committed, decrypted in memory.

The file is JSON: the names are readable (so `check` and `secrets show --names` work without a
key), each value is encrypted on its own to the fleet's age recipients. A value in the environment
(`MASTOFLEET_SECRET_<NAME>`) wins over the file. Values are never printed: `Secret` masks itself.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage
from pyrage import x25519

from mastofleet.model.secrets_reference import environment_variable

KEY_ENVIRONMENT = "MASTOFLEET_AGE_KEY"
KEY_FILE_ENVIRONMENT = "MASTOFLEET_AGE_KEY_FILE"
MASK = "********"


class SecretError(Exception):
    """A secret cannot be had; the message names it but never shows a value."""


class Secret(str):
    """A secret value: a real string for templates, masked whenever it is shown or logged."""

    def __repr__(self) -> str:
        return f"Secret({MASK})"


@dataclass
class SecretStore:
    """Named secrets from an age-encrypted file and the environment."""

    path: Path | None = None
    recipients: list[str] = field(default_factory=list)
    encrypted: dict[str, str] = field(default_factory=dict)
    key_file: Path | None = None
    _decrypted: dict[str, Secret] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path | None, key_file: Path | None = None) -> SecretStore:
        if path is None or not path.exists():
            return cls(path=path, key_file=key_file)
        try:
            document = json.loads(path.read_text())
            return cls(
                path=path,
                recipients=list(document["recipients"]),
                encrypted=dict(document["secrets"]),
                key_file=key_file,
            )
        except (ValueError, KeyError) as error:
            raise SecretError(f"{path}: not a mastofleet secrets file ({error.__class__.__name__})") from None

    @classmethod
    def for_fleet_data(cls, data: Mapping[str, Any], project: str) -> SecretStore:
        """The store named by group_data's `secrets_file` (relative to the project) and `age_key_file`."""
        file = data.get("secrets_file")
        base = Path(project)
        key_file = data.get("age_key_file")
        for name, value in (("secrets_file", file), ("age_key_file", key_file)):
            if value is not None and not isinstance(value, str):
                example = "secrets/FLEET.json" if name == "secrets_file" else "/path/to/age.key"
                raise SecretError(
                    f"group_data: {name} is of type {type(value).__name__}, not a path: write {name} = '{example}'"
                )
        return cls.load(
            (base / file) if file else None,
            Path(key_file) if key_file else None,
        )

    def names(self) -> set[str]:
        from_environment = {
            key.removeprefix("MASTOFLEET_SECRET_").lower() for key in os.environ if key.startswith("MASTOFLEET_SECRET_")
        }
        return set(self.encrypted) | from_environment

    def _identities(self) -> list[x25519.Identity]:
        text = os.environ.get(KEY_ENVIRONMENT)
        source = f"${KEY_ENVIRONMENT}"
        if not text:
            key_path = os.environ.get(KEY_FILE_ENVIRONMENT) or (str(self.key_file) if self.key_file else None)
            if not key_path or not Path(key_path).exists():
                raise SecretError(
                    f"no age key to decrypt {self.path}: set {KEY_ENVIRONMENT} or {KEY_FILE_ENVIRONMENT}"
                    + (f" (looked for {key_path})" if key_path else "")
                )
            text = Path(key_path).read_text()
            source = key_path
        keys = [line.strip() for line in text.splitlines() if line.strip().startswith("AGE-SECRET-KEY-")]
        try:
            return [x25519.Identity.from_str(key) for key in keys]
        except Exception:
            raise SecretError(f"the age key in {source} is not a valid age identity") from None

    def reveal(self, name: str) -> Secret:
        """The value of a secret, from the environment or decrypted in memory."""
        from_environment = os.environ.get(environment_variable(name))
        if from_environment:
            return Secret(from_environment)
        if name in self._decrypted:
            return self._decrypted[name]
        if name not in self.encrypted:
            raise SecretError(
                f"secret '{name}' is missing: add it with `mastofleet secrets set {name}` "
                f"or set {environment_variable(name)}"
            )
        identities = self._identities()
        try:
            value = pyrage.decrypt(base64.b64decode(self.encrypted[name]), identities)
        except Exception:
            raise SecretError(
                f"cannot decrypt secret '{name}' from {self.path}: the age key is not one of its recipients"
            ) from None
        secret = Secret(value.decode())
        self._decrypted[name] = secret
        return secret

    def set(self, name: str, value: str) -> None:
        if not self.recipients:
            raise SecretError(f"{self.path}: no recipients; run `mastofleet secrets init` first")
        recipients = [x25519.Recipient.from_str(recipient) for recipient in self.recipients]
        self.encrypted[name] = base64.b64encode(pyrage.encrypt(value.encode(), recipients)).decode()
        self._decrypted[name] = Secret(value)

    def save(self) -> None:
        if self.path is None:
            raise SecretError("the fleet names no secrets_file in group_data")
        document = {"recipients": self.recipients, "secrets": dict(sorted(self.encrypted.items()))}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=2) + "\n")
        temporary.replace(self.path)

    def reveal_all(self, names: Iterable[str]) -> dict[str, Secret]:
        return {name: self.reveal(name) for name in names}


def generate_identity(path: Path) -> str:
    """Write a new age identity to `path` (mode 0600) and return its public recipient."""
    identity = x25519.Identity.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(f"# public key: {identity.to_public()}\n{identity}\n")
    return str(identity.to_public())
