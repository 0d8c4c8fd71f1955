"""The rollout: web and streaming restart one app host at a time, each out of the balancer meanwhile.

pyinfra orders operations per host and only synchronises hosts at operations they share (same
call site, same loop position). So every host plans the same four operations for every turn —
each does something only where it applies — and for each app host in turn the balancer drains it,
the host restarts what it owes and answers its health checks, and the balancer takes it back,
before the next host's turn starts. With `FAIL_PERCENT = 0` (config.py) a host
that fails its turn stops the whole run there: that host stays drained, the others keep serving.

Whether a host owes a restart is known only on that host, as the run goes (did `live` switch, did
its configuration change): each app host registers its conditions here while pyinfra plans, and
the balancer's operations ask for them when they run.
"""

from __future__ import annotations

from collections.abc import Callable

from pyinfra import host as current_host
from pyinfra import state as current_state
from pyinfra.api import operation
from pyinfra.context import ctx_inventory

from mastofleet.deploys import nginx
from mastofleet.deploys.operations import role_deploy
from mastofleet.deploys.release import PendingRestart
from mastofleet.model import Fleet, Host, Role
from mastofleet.model.redis_servers import redis_servers
from mastofleet.quoting import as_user_command, shell

HEALTH_TIMEOUT_SECONDS = 180  # Puma loading a large Rails app on a busy host can take a minute or more
HEALTH_TIMEOUT_DATA = "rollout_health_timeout"  # --data: seconds to wait for a restarted host

_restarts: dict[tuple[int, str], list[PendingRestart]] = {}
_drained: dict[int, set[str]] = {}
_joining: dict[int, set[str]] = {}


def _inventory() -> int:
    # The module-level inventory is a proxy, the same object for every run: key on the real one.
    return id(ctx_inventory.get())


def restart_owed(name: str) -> Callable[[], bool]:
    """True (when asked, during the run) if app host `name` restarts anything in its turn."""
    return lambda: any(pending.when() for pending in _restarts.get((_inventory(), name), []))


def left_drained(name: str) -> Callable[[], bool]:
    """True if a balancer had `name` drained before this run (a rollout stopped in its turn)."""
    return lambda: name in _drained.get(_inventory(), set())


def joining(name: str) -> Callable[[], bool]:
    """True if a balancer does not serve from `name` yet: a new app host, admitted after its turn."""
    return lambda: name in _joining.get(_inventory(), set())


def when_running(when: Callable[[], bool]) -> bool:
    """Ask `when` only while the run executes; while pyinfra plans, the answer is not known yet,
    so the operation shows what it may do."""
    return when() if current_state.is_executing else True


def _redis_ping_script(prefix: str) -> str:
    """bash: AUTH with the env file's user and password for one Redis server, then PING (RESP, over
    /dev/tcp: no redis-cli on app hosts); fails unless the answers are +OK and +PONG."""
    host, port, user, password = (f'"${prefix}REDIS_{key}"' for key in ("HOST", "PORT", "USER", "PASSWORD"))
    return (
        f"exec 3<>/dev/tcp/{host}/{port}"
        f" && printf '*3\\r\\n$4\\r\\nAUTH\\r\\n$%d\\r\\n%s\\r\\n$%d\\r\\n%s\\r\\n*1\\r\\n$4\\r\\nPING\\r\\n'"
        f" ${{#{prefix}REDIS_USER}} {user} ${{#{prefix}REDIS_PASSWORD}} {password} >&3"
        " && read -r -t 5 auth <&3 && read -r -t 5 pong <&3 && exec 3>&-"
        """ && [ "${auth%$'\\r'}" = +OK ] && [ "${pong%$'\\r'}" = +PONG ]"""
    )


def credentials_check_command(fleet: Fleet, host: Host, timeout: int = HEALTH_TIMEOUT_SECONDS) -> str:
    """As the app user on `host`, with its `.env.production`: PostgreSQL answers a query (through
    DB_HOST: PgBouncer when it pools) and every Redis server takes the AUTH and answers PING. A host
    whose credentials are wrong must not go back into the balancer, however healthy its /health.
    Asked again each second up to `timeout` (PgBouncer waits server_login_retry, 15 s, after a
    refused login, as after a cutover's fence); then asked once more, its errors shown."""
    pings_script = " && ".join(_redis_ping_script(server.purpose.environment_prefix) for server in redis_servers(fleet))
    script = (
        "set -a && . ./.env.production && set +a"
        ' && PGPASSWORD="$DB_PASS" psql -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" -XtAc "SELECT 1"'
        " >/dev/null"
        f" && {pings_script}"
    )
    refused = (
        f"{host.name} cannot reach PostgreSQL or Redis with the credentials of its .env.production: the rollout"
        f" stops here and {host.name} stays out of the balancer. Check DB_* and *REDIS_* there against the servers."
    )
    check_command = as_user_command(fleet.instance.user, f"bash -c {shell(script)}", fleet.instance.live_directory)
    return (
        f"deadline=$(( $(date +%s) + {int(timeout)} ));"
        f" until {check_command} >/dev/null 2>&1; do if [ $(date +%s) -ge $deadline ]; then"
        f" {check_command} >&2; echo {shell(refused)} >&2; exit 1; fi; sleep 1; done"
    )


def health_check_command(host: Host, timeout: int = HEALTH_TIMEOUT_SECONDS, fleet: Fleet | None = None) -> str:
    """Wait until every web and streaming process of `host` answers its health endpoint (and, given
    the fleet, first prove its credentials: `credentials_check_command`)."""
    urls = []
    if host.web:
        urls.append(f"http://{host.private_address}:{host.web.port}/health")
    if host.streaming:
        urls += [f"http://{host.private_address}:{port}/api/v1/streaming/health" for port in host.streaming.ports]
    checks_command = " && ".join(f"curl -fsS -o /dev/null --max-time 5 {shell(url)}" for url in urls)
    stopped = (
        f"{host.name} did not become healthy within {timeout} s: the rollout stops here."
        f" {host.name} stays out of the balancer and the other app hosts keep serving. See its journal"
        " (journalctl -u mastodon-web -u mastodon-streaming@*), fix it and deploy again to go on, or run"
        " mastofleet rollback."
    )
    credentials_command = f"{credentials_check_command(fleet, host, timeout)}; " if fleet is not None else ""
    return credentials_command + (
        f"deadline=$(( $(date +%s) + {int(timeout)} ));"
        f" while [ $(date +%s) -lt $deadline ]; do if {checks_command}; then exit 0; fi; sleep 1; done;"
        f" echo {shell(stopped)} >&2; exit 1"
    )


@operation()
def switch_balancer(
    variant: str | None, when: Callable[[], bool], admit: str | None = None, quiet: tuple[str, int] | None = None
):
    """
    Point a balancer's site at another variant and reload nginx (nothing on other hosts).

    + variant: the variant file to serve, or None on hosts that are not balancers
    + when: asked as the operation runs: is there anything to do
    + admit: a joining app host to mark up in every variant first
    + quiet: (address, port) of a drained Puma: wait until nginx's old workers are done with it
    """
    if variant is not None and when_running(when):
        if admit:
            yield nginx.admit_command(admit)
        yield nginx.switch_variant_command(variant)
        if quiet:
            yield nginx.wait_until_no_requests_to(*quiet)


@operation()
def restart_pending(restarts: list[PendingRestart]):
    """
    Restart the units of this host that owe a restart, as decided when the operation runs.

    + restarts: this host's pending restarts in its turn; empty elsewhere
    """
    for restart in restarts:
        if when_running(restart.when):
            yield restart.command()


@operation()
def wait_until_healthy(
    target: Host | None, when: Callable[[], bool], timeout: int = HEALTH_TIMEOUT_SECONDS, fleet: Fleet | None = None
):
    """
    Wait until the app host answers every health endpoint, or fail (stopping the run) after a while.

    + target: the host in its turn, or None on every other host
    + when: asked as the operation runs: did the host restart or stay drained
    + timeout: seconds to wait
    + fleet: the fleet, whose database and Redis servers the host must reach with its credentials
    """
    if target is not None and when_running(when):
        yield health_check_command(target, timeout, fleet)


@role_deploy("Rolling restart")
def one_host_at_a_time(fleet: Fleet, host: Host, pending: list[PendingRestart]) -> None:
    """
    Restart web and streaming host by host behind the balancer: drain, restart, wait for the
    health endpoints, put back. A host with nothing to restart is not drained; with a single app
    host there is nowhere to send its traffic, so it restarts in place.

    + fleet: the validated fleet
    + host: the host this deploy code runs for (a balancer, an app host, or neither)
    + pending: this host's restarts (empty on hosts without web or streaming)
    """
    targets = nginx.balanced_hosts(fleet)
    _restarts[(_inventory(), host.name)] = pending
    # in maintenance (a cutover) the balancer sends nothing to the app hosts: no host to take out
    balancer = host.has(Role.lb) and len(targets) > 1 and not nginx.in_maintenance()
    if balancer:
        drained = nginx.drained_host(fleet)
        if drained:
            _drained.setdefault(_inventory(), set()).add(drained)
        _joining.setdefault(_inventory(), set()).update(nginx.joining_hosts(fleet))
    for target in current_host.loop(targets):
        owed = restart_owed(target.name)
        stopped_here = left_drained(target.name)
        new = joining(target.name)

        def finish(
            owed: Callable[[], bool] = owed,
            stopped_here: Callable[[], bool] = stopped_here,
            new: Callable[[], bool] = new,
        ) -> bool:
            return owed() or stopped_here() or new()

        mine = host.name == target.name
        switch_balancer(
            name=f"Take {target.name} out of the balancer",
            variant=nginx.drained_variant(target.name) if balancer else None,
            when=owed,
            quiet=(str(target.private_address), target.web.port) if target.web else None,
        )
        restart_pending(name=f"Restart what {target.name} owes", restarts=pending if mine else [])
        wait_until_healthy(
            name=f"Wait until {target.name} answers its health checks",
            target=target if mine else None,
            when=finish,
            timeout=int(current_host.data.get(HEALTH_TIMEOUT_DATA) or HEALTH_TIMEOUT_SECONDS),
            fleet=fleet,
        )
        switch_balancer(
            name=f"Put {target.name} back into the balancer",
            variant=nginx.SERVING if balancer else None,
            when=finish,
            admit=target.name if balancer and target.name in nginx.joining_hosts(fleet) else None,
        )
