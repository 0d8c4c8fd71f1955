"""Every subcommand's `--help`, and every verb's, lists its own verbs and options.

The help is printed by the real parser (`mastofleet.cli.main([..., "--help"])`, in this process):
argparse prints it and exits before any handler runs, so nothing touches a host or the local fleet.
`EXPECTED` is the command line as an operator reads it; a verb or option added to a parser must be
added here too (the tree of parsers is compared with it).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from mastofleet.cli import main, parser

INVENTORY = ["inventory"]
PROVISION_OPTIONS = ["inventory", "--only", "--prune"]

# The verbs (subcommands) or the arguments and options each help page must list.
EXPECTED: dict[tuple[str, ...], list[str]] = {
    (): [
        "check",
        "render",
        "deploy",
        "upgrade",
        "rollback",
        "doctor",
        "status",
        "secrets",
        "media",
        "backup",
        "db",
        "cutover",
        "lock",
        "reference",
        "provision",
        "local",
        "vagrant",
    ],
    ("check",): [*INVENTORY, "--listeners"],
    ("render",): ["inventory", "output", "--diagram"],
    ("deploy",): ["inventory", "--data", "--limit", "--force-disk"],
    ("upgrade",): ["inventory", "--version", "--code", "--keep-rollback", "--data"],
    ("rollback",): ["inventory", "--data"],
    ("doctor",): INVENTORY,
    ("status",): INVENTORY,
    ("secrets",): ["init", "rotate", "show", "set"],
    ("secrets", "init"): ["inventory", "--recipient", "--key-file", "--force", "--replace", "--generate-missing"],
    ("secrets", "rotate"): ["name", "inventory", "--no-deploy"],
    ("secrets", "show"): ["inventory", "--names"],
    ("secrets", "set"): ["inventory", "name"],
    ("media",): ["status", "verify", "finish"],
    ("media", "status"): INVENTORY,
    ("media", "verify"): INVENTORY,
    ("media", "finish"): INVENTORY,
    ("backup",): ["now", "list", "restore"],
    ("backup", "now"): ["inventory", "--type"],
    ("backup", "list"): INVENTORY,
    ("backup", "restore"): ["inventory", "--to", "--yes"],
    ("db",): ["status"],
    ("db", "status"): INVENTORY,
    ("cutover",): ["inventory", "--yes", "--abort"],
    ("lock",): ["status", "break"],
    ("lock", "status"): INVENTORY,
    ("lock", "break"): ["inventory", "--reason"],
    ("reference",): [],
    ("provision",): ["plan", "apply", "destroy"],
    ("provision", "plan"): PROVISION_OPTIONS,
    ("provision", "apply"): PROVISION_OPTIONS,
    ("provision", "destroy"): ["inventory", "--yes"],
    ("local",): ["up", "down", "snapshot", "restore", "status", "ssh", "exec"],
    ("local", "up"): ["HOST", "--fresh"],
    ("local", "down"): ["HOST", "--purge"],
    ("local", "snapshot"): ["HOST"],
    ("local", "restore"): ["HOST"],
    ("local", "status"): [],
    ("local", "ssh"): ["HOST", "COMMAND"],
    ("local", "exec"): ["HOST", "COMMAND"],
    ("vagrant",): ["box", "network", "dry-run"],
    ("vagrant", "box"): ["--rebuild"],
    ("vagrant", "network"): ["--down"],
    ("vagrant", "dry-run"): [],
}


def subparsers(command: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The verbs of a parser, by name (argparse keeps them in its subparsers action)."""
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def tree(command: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    parsers = {path: command}
    for name, verb in subparsers(command).items():
        parsers.update(tree(verb, (*path, name)))
    return parsers


def listed(command: argparse.ArgumentParser) -> list[str]:
    """What a parser itself says its help must show: its verbs, its positionals, its option strings."""
    words = list(subparsers(command))
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        if action.option_strings:
            words.append(max(action.option_strings, key=len))
        else:
            words.append(str(action.metavar or action.dest))
    return words


def help_text(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_request:
        main([*path, "--help"])
    assert exit_request.value.code == 0
    return capsys.readouterr().out


def shows(text: str, word: str, verb: bool) -> bool:
    if verb:  # a verb has its own line in the listing, followed by its help
        return re.search(rf"^\s+{re.escape(word)}(\s|$)", text, re.MULTILINE) is not None
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def test_every_parser_is_expected() -> None:
    assert set(tree(parser())) == set(EXPECTED)


@pytest.mark.parametrize("path", sorted(EXPECTED), ids=lambda path: " ".join(path) or "mastofleet")
def test_help_lists_the_verbs_and_options(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    command = tree(parser())[path]
    text = help_text(path, capsys)
    assert text.startswith(f"usage: {' '.join(['mastofleet', *path])} ")
    verbs = set(subparsers(command))
    for word in EXPECTED[path]:
        assert shows(text, word, word in verbs), f"`mastofleet {' '.join(path)} --help` does not list {word}:\n{text}"
    # ... and nothing the parser has is missing from EXPECTED
    assert sorted(listed(command)) == sorted(EXPECTED[path])


def test_registering_the_commands_loads_nothing_heavy() -> None:
    """`mastofleet --help` and every command's start stay quick: the handlers load pyinfra, the model,
    SSH and the provider clients when they run (and provisioning needs gevent's patch first)."""
    script = "import sys, mastofleet.cli; mastofleet.cli.parser(); print('\\n'.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split())
    heavy = {"paramiko", "pyinfra", "pyinfra_cli", "gevent", "jinja2", "botocore", "hcloud", "cryptography"}
    heavy |= {"mastofleet.project.fleet", "mastofleet.model", "mastofleet.deploys", "mastofleet.remote", "mastofleet.database"}
    assert not [module for module in loaded if module.startswith(tuple(heavy))]
