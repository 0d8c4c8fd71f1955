"""Programs that the deploy copies to hosts and runs there, one package per program.

An agent is installed on its host as a package of its own name (`media_edge` goes to
/usr/local/lib/mastofleet/media_edge) and runs under Debian's python3, so it imports only the
standard library, Debian's python3 packages and itself, never mastofleet. Its files are uploaded
exactly as they are here, and ship in the wheel with the rest of the package.
"""

from __future__ import annotations

from pathlib import Path

AGENTS_DIRECTORY = Path(__file__).resolve().parent


def agent_sources(name: str) -> list[Path]:
    """The Python files of the agent `name`, sorted by name.

    A missing agent is an error rather than an empty list: the deploy would otherwise upload nothing.
    """
    sources = sorted((AGENTS_DIRECTORY / name).glob("*.py"))
    if not sources:
        raise FileNotFoundError(f"no agent {name!r} in {AGENTS_DIRECTORY}")
    return sources
