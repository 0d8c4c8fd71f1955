"""What the fleet tests share: commands on the local hosts, the site through nixie, load."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import sys
import time
from pathlib import Path

from mastofleet.local.machines import MACHINES, ssh_config_path
from support.deploy_run import PROJECT
from support.load import Load, LoadFigures

INVENTORY = "inventories/local.py"
APP_HOSTS = ("freud", "fritz", "franz")
BALANCER = str(MACHINES["nixie"].address)
DOMAIN = "hachyderm.example"
MINIMUM_REQUESTS = 2000


def on_host(name: str, command: str) -> str:
    result = subprocess.run(
        ["ssh", "-F", str(ssh_config_path()), name, command], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def mastofleet(*arguments: str) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("mastofleet")), *arguments]
    # a generous bound: a command that hangs fails its test instead of holding the whole run
    return subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False, timeout=1800)


def self_signed() -> ssl.SSLContext:
    """A TLS context for the local fleet's balancer, whose certificate is self-signed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def get(path: str, method: str = "GET") -> tuple[int, bytes]:
    connection = http.client.HTTPSConnection(BALANCER, 443, timeout=15, context=self_signed())
    try:
        connection.request(method, path, headers={"Host": DOMAIN})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def served_by() -> set[tuple[str, str]]:
    """(host, version) of 40 answers through the balancer."""
    answers = set()
    for index in range(40):
        status, body = get(f"/standin/whoami?sample={time.time()}-{index}")
        assert status == 200, body
        answer = json.loads(body)
        answers.add((answer["host"], answer["version"]))
    return answers


def streaming_pids() -> dict[str, str]:
    return {
        host: on_host(host, "systemctl show -P MainPID mastodon-streaming@4000 mastodon-streaming@4001")
        for host in APP_HOSTS
    }


def live_releases() -> dict[str, str]:
    return {host: on_host(host, "readlink /var/lib/mastofleet/release/live").rsplit("/", 1)[-1] for host in APP_HOSTS}


def database(query: str) -> list[str]:
    """Rows of a query, run on freud with the application's own credentials, straight to PostgreSQL."""
    rows = on_host(
        "freud",
        "cd /var/lib/mastofleet/release/live && set -a && . ./.env.production && PGPASSWORD=$DB_PASS"
        f' psql -h $DB_HOST -p 5432 -U $DB_USER -d $DB_NAME -XtAc "{query}"',
    )
    return rows.splitlines()


def migrations() -> list[str]:
    return database("SELECT version FROM standin_migrations ORDER BY at, version")


def under_load(*arguments: str) -> tuple[subprocess.CompletedProcess, LoadFigures, float]:
    with Load(BALANCER, DOMAIN) as load:
        time.sleep(1)
        started = time.monotonic()
        result = mastofleet(*arguments)
        seconds = time.monotonic() - started
        time.sleep(1)
    return result, load.figures, seconds


def lost_jobs(figures: LoadFigures, wait_seconds: float = 90.0) -> dict[str, str]:
    """Jobs enqueued under load that no Sidekiq process performed (after waiting for the queues)."""
    pending = dict(figures.tokens)
    deadline = time.monotonic() + wait_seconds
    while pending and time.monotonic() < deadline:
        done = set(database("SELECT DISTINCT token FROM standin_jobs WHERE token LIKE 'load-%'"))
        pending = {token: queue for token, queue in pending.items() if token not in done}
        if pending:
            time.sleep(2)
    return pending
