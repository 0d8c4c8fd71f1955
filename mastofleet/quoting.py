"""The one way a value reaches a shell or SQL: quoted by the rules of the place it lands.

Every command the deploy, the operator commands and the remote actions build takes its values
through these functions; `tests/unit/test_quoting.py` fails on a `server.shell` command whose
f-string interpolates anything else (a constant in capitals, or a function that returns shell
text, named `*_command` or `*_check`, is allowed).
"""

from __future__ import annotations

import shlex


def shell(value: object) -> str:
    """One shell word, whatever it holds (`$(...)`, spaces, quotes, a leading dash stay literal)."""
    return shlex.quote(str(value))


def shell_words(*values: object) -> str:
    return " ".join(shell(value) for value in values)


def as_user_command(user: str, script: str, directory: str | None = None) -> str:
    """Root's way to run `script` as `user` (runuser keeps the environment and sets HOME): work in
    the user's own files is done with the user's rights, so nothing planted there acts as root.
    The `cd` happens as the user too."""
    inner = f"cd {shell(directory)} && {script}" if directory else script
    return f"runuser -u {shell(user)} -- sh -c {shell(inner)}"


def sql_identifier(name: str) -> str:
    """A PostgreSQL identifier (a role, a database, a table): double quotes, doubled inside."""
    _refuse_nul(name)
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    """A PostgreSQL string literal (standard_conforming_strings, on since 9.1): single quotes doubled."""
    _refuse_nul(value)
    return "'" + value.replace("'", "''") + "'"


def _refuse_nul(value: str) -> None:
    if "\x00" in value:
        raise ValueError("a NUL character cannot be quoted for SQL")
