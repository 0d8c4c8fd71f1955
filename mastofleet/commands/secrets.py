"""`mastofleet secrets init | show --names | set | rotate`: manage the fleet's encrypted secrets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mastofleet.commands.arguments import Subcommands
from mastofleet.commands.lock import holding_the_lock

if TYPE_CHECKING:  # the store, its age keys and the generators load when a verb runs
    from mastofleet.project.secrets import SecretStore


def _refuse_irreplaceable(store: SecretStore, force: bool, replace: list[str]) -> None:
    """--force keeps the keys that cannot be replaced without losing data unless --replace names them."""
    from mastofleet.project.secret_generation import IRREPLACEABLE
    from mastofleet.project.secrets import SecretError

    unknown = sorted(set(replace) - set(IRREPLACEABLE))
    if unknown:
        raise SecretError(
            f"--replace {', '.join(unknown)}: not a key that --replace is for (those are: {', '.join(sorted(IRREPLACEABLE))})."
            " Nothing was changed."
        )
    if replace and not force:
        raise SecretError("--replace only goes with --force. Nothing was changed.")
    kept = sorted(name for name in IRREPLACEABLE if force and name in store.encrypted and name not in replace)
    if kept:
        consequences = "; ".join(f"{name}: {IRREPLACEABLE[name]}" for name in kept)
        raise SecretError(
            f"--force would replace keys that cannot be replaced without losing data ({consequences})."
            " Nothing was changed. To regenerate the passwords only, use `secrets rotate NAME`; to really"
            " replace a key, name it: --force --replace NAME."
        )


def register(subcommands: Subcommands) -> None:
    secrets = subcommands.add_parser("secrets", help="the fleet's age-encrypted secrets")
    verbs = secrets.add_subparsers(dest="secrets_command", required=True)
    init = verbs.add_parser("init", help="generate every secret once")
    init.add_argument("inventory")
    init.add_argument("--recipient", action="append", default=[], help="age public key (repeatable)")
    init.add_argument("--key-file", help="create a new age key here and encrypt to it")
    init.add_argument(
        "--force",
        action="store_true",
        help="regenerate secrets that already exist (the passwords); the keys whose loss cannot be undone only"
        " with --replace",
    )
    init.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="NAME",
        help="with --force: also replace this key (secret_key_base, the VAPID and encryption keys), knowing what"
        " is lost (repeatable)",
    )
    init.add_argument(
        "--generate-missing",
        action="store_true",
        help="also fill any other secret the fleet references with random text (test fleets only)",
    )
    rotate = verbs.add_parser("rotate", help="a new postgres_password or redis_password, applied in order by a deploy")
    rotate.add_argument("name")
    rotate.add_argument("inventory")
    rotate.add_argument("--no-deploy", action="store_true", help="only store the new value")
    show = verbs.add_parser("show", help="list the secrets (names only)")
    show.add_argument("inventory")
    show.add_argument("--names", action="store_true", required=True)
    set_secret = verbs.add_parser("set", help="store one secret, value read from stdin")
    set_secret.add_argument("inventory")
    set_secret.add_argument("name")
    secrets.set_defaults(handler=holding_the_lock(run, lambda arguments: arguments.secrets_command == "rotate"))


def _store(inventory_path: str) -> tuple[SecretStore, dict]:
    from mastofleet.project.fleet import load_inventory, project_directory
    from mastofleet.project.secrets import SecretStore

    inventory = load_inventory(inventory_path)
    data = next(iter(inventory)).data.dict()
    return SecretStore.for_fleet_data(data, project_directory(inventory_path)), data


def _referenced_secrets(inventory_path: str) -> set[str]:
    """Secret names the fleet's configuration refers to, read without validating the rest."""
    from mastofleet.model.problems import FleetError
    from mastofleet.project.fleet import load_fleet

    try:
        fleet, _ = load_fleet(inventory_path)
        return fleet.referenced_secrets()
    except FleetError as error:
        return {problem.field for problem in error.problems if problem.where == "secrets"}


# Passwords the fleet generates and both ends of which it manages. The other generated secrets are
# not rotated by a command: a new SECRET_KEY_BASE logs everyone out, new VAPID keys break every push
# subscription, new ActiveRecord encryption keys make encrypted columns unreadable.
ROTATABLE = {
    "postgres_password": "the mastodon role in PostgreSQL, PgBouncer's userlist, then every app host",
    "redis_password": "Redis, then every app host",
    "cache_redis_password": "the cache Redis, then every app host",
    "sidekiq_redis_password": "the Sidekiq Redis, then every app host",
}


def rotate(inventory: str, name: str, deploy: bool) -> int:
    """A new value for a password, stored encrypted, then applied in order by one deploy: the
    database side first (PostgreSQL role, PgBouncer, Redis), then every app host's environment,
    restarted host by host behind the balancer."""
    from mastofleet.project.secret_generation import random_text
    from mastofleet.project.secrets import SecretError
    from mastofleet.runtime.pyinfra_deploy import run_deploy

    if name not in ROTATABLE:
        raise SecretError(
            f"'{name}' cannot be rotated by mastofleet: only {', '.join(sorted(ROTATABLE))}. Provider"
            " credentials are rotated at the provider, then stored with `mastofleet secrets set`."
        )
    store, _ = _store(inventory)
    if name not in store.encrypted:
        raise SecretError(f"'{name}' does not exist yet in {store.path}: run `mastofleet secrets init` first")
    store.reveal(name)  # the key must open the store before anything is replaced
    store.set(name, random_text(40))
    store.save()
    print(f"stored a new '{name}' in {store.path} (not shown); it goes to {ROTATABLE[name]}")
    if not deploy:
        print("not deployed: run `mastofleet deploy` to apply it (until then the old value stays in use)")
        return 0
    code = run_deploy(inventory, [], [])
    if code != 0:
        print(
            f"the deploy stopped (exit {code}): the new '{name}' is stored; run `mastofleet deploy {inventory}`"
            " again to finish applying it",
            file=sys.stderr,
        )
    return code


def run(arguments: argparse.Namespace) -> int:
    from mastofleet.project.secret_generation import IRREPLACEABLE, initial_secrets, random_text
    from mastofleet.project.secrets import SecretError, generate_identity

    if arguments.secrets_command == "rotate":
        return rotate(arguments.inventory, arguments.name, not arguments.no_deploy)
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
    _refuse_irreplaceable(store, arguments.force, arguments.replace)
    created = []
    for name, value in initial_secrets().items():
        if name in store.encrypted and not (
            arguments.force and (name not in IRREPLACEABLE or name in arguments.replace)
        ):
            continue
        store.set(name, value)
        created.append(name)
    for name in sorted(set(arguments.replace) & set(created)):
        print(f"replaced {name}: {IRREPLACEABLE[name]}")
    if arguments.generate_missing:
        # For test fleets whose providers accept any credential (moto, a local SMTP sink).
        missing = _referenced_secrets(arguments.inventory) - set(store.encrypted)
        for name in sorted(missing):
            store.set(name, random_text(40))
            created.append(name)
    store.save()
    print(f"{store.path}: created {', '.join(created) or 'nothing (all exist; --force regenerates)'}")
    return 0
