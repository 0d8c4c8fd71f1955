"""Mechanics every role shares: put rendered files, keep secrets out of diffs, restart on change."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from io import StringIO

from pyinfra import host
from pyinfra.api import FactBase, FileUploadCommand, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import Link, Sha256File
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util.files import chmod, chown

from mastofleet.files import ConfigFile


@operation()
def sensitive_file(path: str, content: str, user: str = "root", group: str = "root", mode: str = "600"):
    """
    Upload a file that holds a secret: compared by checksum, never diffed or logged.

    + path: where the file goes on the host
    + content: the file's text
    + user/group/mode: its owner and mode, applied on every upload
    """
    wanted = hashlib.sha256(content.encode()).hexdigest()
    present = host.get_fact(Sha256File, path=path)
    if present == wanted:
        host.noop(f"{path} is up to date")
        return
    yield FileUploadCommand(StringIO(content), path, remote_temp_filename=host.get_temp_filename(path))
    yield chown(path, user, group)
    yield chmod(path, mode)


def put_files(config_files: Iterable[ConfigFile]) -> list[OperationMeta]:
    """Put each rendered file on the host; secret-bearing ones through `sensitive_file`."""
    results = []
    for config_file in config_files:
        if config_file.sensitive:
            result = sensitive_file(
                name=f"Put {config_file.path} (secret, not shown)",
                path=config_file.path,
                content=config_file.content,
                user=config_file.user,
                group=config_file.group,
                mode=config_file.mode,
            )
        else:
            result = files.put(
                name=f"Put {config_file.path}",
                src=StringIO(config_file.content),
                dest=config_file.path,
                user=config_file.user,
                group=config_file.group,
                mode=config_file.mode,
                create_remote_dir=True,
            )
        results.append(result)
    return results


def changed(*operations: OperationMeta | Iterable[OperationMeta]) -> Callable[[], bool]:
    """An `_if=` condition: true when any of the operations changed something."""
    flat: list[OperationMeta] = []
    for item in operations:
        if isinstance(item, OperationMeta):
            flat.append(item)
        else:
            flat.extend(item)
    return lambda: any(meta.did_change() for meta in flat)


APPLIED_DIRECTORY = "/var/lib/mastofleet/applied"


class ServiceOlderThanInputs(FactBase[bool]):
    """True when a service has been running since before one of its input files last changed.

    A restart that a failed run never got to do is still owed: this finds it on the next run.
    """

    def command(self, service: str, paths: tuple[str, ...]) -> str:
        checks = " ".join(f"'{path}'" for path in paths)
        return (
            f"started=$(systemctl show -P ActiveEnterTimestamp --timestamp=unix {service} 2>/dev/null | tr -d @);"
            f" applied=$(stat -c %Y {APPLIED_DIRECTORY}/{service} 2>/dev/null || echo 0);"
            ' if [ "$applied" -gt "${started:-0}" ]; then started=$applied; fi;'
            f' for path in {checks}; do changed=$(stat -c %Y "$path" 2>/dev/null || echo 0);'
            ' if [ "${started:-0}" -lt "$changed" ]; then echo stale; exit 0; fi; done; echo current'
        )

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[-1].strip() == "stale"


def service_running(
    service: str,
    restart_when: Callable[[], bool] | None = None,
    reload_instead: bool = False,
    daemon_reload_when: Callable[[], bool] | None = None,
    inputs: Iterable[str] = (),
) -> None:
    """Enable and start a unit; restart (or reload) it when `restart_when` says its inputs changed
    in this run, or when it is older than one of its `inputs` (a restart an earlier run still owes)."""
    if daemon_reload_when is not None:
        systemd.daemon_reload(name="Reload systemd units", _if=daemon_reload_when)
    systemd.service(name=f"Enable and start {service}", service=service, running=True, enabled=True)
    paths = tuple(inputs)
    owed = bool(paths) and host.get_fact(ServiceOlderThanInputs, service=service, paths=paths)
    if restart_when is not None or owed:
        changed_now = restart_when or (lambda: False)
        action = "reload" if reload_instead else "restart"
        # The marker records when the configuration was last applied: a reload keeps the start time.
        server.shell(
            name=f"{action.capitalize()} {service} for its new configuration",
            commands=[
                f"systemctl {action} {service} && mkdir -p {APPLIED_DIRECTORY} && touch {APPLIED_DIRECTORY}/{service}"
            ],
            _if=lambda: owed or changed_now(),
        )


def atomic_symlink(path: str, target: str, user: str) -> OperationMeta | None:
    """Point `path` at `target` by renaming a new link over it: there is never a moment without one."""
    link = host.get_fact(Link, path=path)
    if link and link.get("link_target") == target:
        return None
    temporary = f"{path}.switching"
    return server.shell(
        name=f"Switch {path} to {target}",
        commands=[f"ln -sfn {target} {temporary} && chown -h {user}:{user} {temporary} && mv -T {temporary} {path}"],
    )
