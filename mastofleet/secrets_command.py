"""`mastofleet secrets init | show --names | set`: manage the fleet's encrypted secrets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mastofleet.fleet import load_inventory, project_directory
from mastofleet.secret_generation import initial_secrets, random_text
from mastofleet.secrets import SecretError, SecretStore, generate_identity


def _store(inventory_path: str) -> tuple[SecretStore, dict]:
    inventory = load_inventory(inventory_path)
    data = next(iter(inventory)).data.dict()
    return SecretStore.for_fleet_data(data, project_directory(inventory_path)), data


def _referenced_secrets(inventory_path: str) -> set[str]:
    """Secret names the fleet's configuration refers to, read without validating the rest."""
    from mastofleet.fleet import load_fleet
    from mastofleet.problems import FleetError

    try:
        fleet, _ = load_fleet(inventory_path)
        return fleet.referenced_secrets()
    except FleetError as error:
        return {problem.field for problem in error.problems if problem.where == "secrets"}


def run(arguments: argparse.Namespace) -> int:
    store, data = _store(arguments.inventory)
    if arguments.secrets_command == "show":
        for name in sorted(store.names()):
            print(name)
        return 0
    if arguments.secrets_command == "set":
        value = sys.stdin.read().strip()
        if not value:
            raise SecretError(f"no value on standard input for '{arguments.name}'")
        store.set(arguments.name, value)
        store.save()
        print(f"stored secret '{arguments.name}' in {store.path}")
        return 0
    recipients = list(arguments.recipient) or list(store.recipients)
    key_file = arguments.key_file or data.get("age_key_file")
    if key_file and not Path(key_file).exists():
        recipients.append(generate_identity(Path(key_file)))
        print(f"created age key {key_file} (keep it out of git)")
    if not recipients:
        raise SecretError("no age recipient: pass --recipient age1... or --key-file PATH")
    store.recipients = sorted(set(recipients))
    created = []
    for name, value in initial_secrets().items():
        if name in store.encrypted and not arguments.force:
            continue
        store.set(name, value)
        created.append(name)
    if arguments.generate_missing:
        # For test fleets whose providers accept any credential (moto, a local SMTP sink).
        missing = _referenced_secrets(arguments.inventory) - set(store.encrypted)
        for name in sorted(missing):
            store.set(name, random_text(40))
            created.append(name)
    store.save()
    print(f"{store.path}: created {', '.join(created) or 'nothing (all exist; --force regenerates)'}")
    return 0
