"""A compromised application cannot become root: as the app user on an app host, traps are planted
in everything that user owns, an ordinary deploy runs, and root did none of what they ask.

The traps, each aimed at something root did with the app user's files before the trust boundary
(docs/security.md):
  1. link targets with shell syntax where root used to read `live` and `previous`;
  2. the release's `.env.production` turned into a link to /etc/shadow (root used to write and chown
     through the shared one);
  3. links to /etc/shadow where root used to copy the streaming-code note and the code archive;
  4. a link to /etc where root used to unpack and `chown -R` a release;
  5. markers: root's own ones deleted and forged (refused: the record is root's), the old in-release
     ones deleted;
  6. the code itself changed, so that anything root ran of it would leave a note of who ran it.

Real parts: the local fleet's app host freud, the real deploy.py. The application is the local
fleet's stand-in for Mastodon's Rails code (rubygems is out of reach here).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator

import pytest
from fleet_support import INVENTORY, get, on_host

from support.deploy_run import DeployResult, run_deploy

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

HOST = "freud"
HOME = "/home/mastodon"
RECORD = "/var/lib/mastofleet/release"
CANARIES = "/tmp/hostile-canary"  # what a sprung trap leaves, with the uid that sprang it
# Files root owns that a trap aims at, and what must not happen to them (content, owner, mode).
GUARDED = ["/etc/shadow", "/etc/passwd", "/etc/sudoers", "/etc", "/root", "/etc/mastodon/env.production"]
NOTE_WHO_RUNS = f'File.write("{CANARIES}-code", Process.uid.to_s + "\\n", mode: "a")'  # Ruby, in bin/rails
STEPS_THAT_MUST_NOT_RUN = ("Unpack", "bundle:", "yarn:", "assets:", "Migrate the database", "Set up the database")


def as_app_user(script: str) -> str:
    return on_host(HOST, f"runuser -u mastodon -- sh -c {shlex.quote(script)}")


def guarded_state() -> str:
    paths = " ".join(GUARDED)
    files = " ".join(path for path in GUARDED if path not in ("/etc", "/root"))
    return on_host(HOST, f"stat -c '%n %U:%G %a' {paths}; sha256sum {files}")


def live_release() -> str:
    return on_host(HOST, f"readlink {RECORD}/live").rsplit("/", 1)[-1]


def plant_traps(release: str) -> list[str]:
    """Plant every trap as the app user; return the attempts the app user was refused."""
    canary = f"$(id -u > {CANARIES}-shell)"
    directory = f"{HOME}/releases/{release}"
    as_app_user(
        f"mkdir -p {HOME}/shared {directory}/.mastofleet"
        # 1: shell syntax in link targets where root read them
        f" && ln -sfn '{HOME}/releases/x{canary}' {HOME}/live"
        f" && ln -sfn '{HOME}/releases/y{canary}' {HOME}/previous"
        # 2: the env file of the live release points at the shadow file
        f" && ln -sfn /etc/shadow {directory}/.env.production"
        # 3: where root copied the streaming note and put the code archive
        f" && ln -sfn /etc/shadow {HOME}/shared/streaming-code && ln -sfn /etc/shadow {HOME}/shared/.env.production"
        f" && ln -sfn /etc/shadow {directory}.tar.gz"
        # 4: where root unpacked and chowned a release
        f" && ln -sfn /etc {directory}.unpacking"
        # 5: the old in-release markers deleted, one forged
        f" && rm -f {directory}/.mastofleet/* && touch {directory}/.mastofleet/migrated"
        # 6: the code notes who runs it
        f" && for file in {directory}/bin/rails {directory}/bin/tootctl; do"
        f' {{ head -n 2 "$file"; echo \'{NOTE_WHO_RUNS}\'; tail -n +3 "$file"; }} > "$file.new"'
        ' && cat "$file.new" > "$file" && rm "$file.new"; done'
    )
    refused = []
    for attempt in (f"rm -f {RECORD}/steps/{release}/assets", f"touch {RECORD}/steps/{release}/forged"):
        try:
            as_app_user(attempt)
        except Exception:  # the ssh command fails: permission denied
            refused.append(attempt)
    return refused


def sprung_canaries() -> str:
    return on_host(HOST, f"for file in {CANARIES}-*; do [ -e $file ] && echo $file: $(sort -u $file); done; true")


@pytest.fixture(scope="module")
def hostile_deploy(first_deploy: DeployResult) -> Iterator[tuple[DeployResult, str, str, list[str]]]:
    on_host(HOST, f"rm -f {CANARIES}-*")
    release = live_release()
    before = guarded_state()
    refused = plant_traps(release)
    result = run_deploy(INVENTORY)
    yield result, release, before, refused


def test_the_app_user_cannot_touch_roots_release_record(hostile_deploy) -> None:
    _, release, _, refused = hostile_deploy
    assert len(refused) == 2, f"the app user changed root's markers: {refused}"
    assert "assets" in on_host(HOST, f"ls {RECORD}/steps/{release}")


def test_the_deploy_after_the_traps_succeeds_and_reruns_no_step(hostile_deploy) -> None:
    result, _, _, _ = hostile_deploy
    assert result.returncode == 0 and not result.failed, result.output[-3000:]
    rerun = [name for name in result.changed.get(HOST, []) if any(step in name for step in STEPS_THAT_MUST_NOT_RUN)]
    assert not rerun, f"a step ran again because of a marker the app user deleted or forged: {rerun}"


def test_no_trap_was_sprung_by_root(hostile_deploy) -> None:
    """No canary at all from the shell-syntax links; the changed code left a note only if something
    ran it, and then only as the app user (never uid 0)."""
    sprung = sprung_canaries()
    uid = on_host(HOST, "id -u mastodon")
    for line in sprung.splitlines():
        path, _, uids = line.partition(": ")
        assert not path.endswith("-shell"), f"a link target was run as a command: {line}"
        assert uids.split() == [uid], f"the app's code ran as someone else than the app user: {line}"


def test_no_root_owned_file_was_changed_or_reowned(hostile_deploy) -> None:
    _, _, before, _ = hostile_deploy
    assert guarded_state() == before


def test_no_root_only_content_landed_where_the_app_user_reads(hostile_deploy) -> None:
    shadow = on_host(HOST, "sha256sum < /etc/shadow").split()[0]
    copies = on_host(
        HOST,
        f"find {HOME} /tmp -xdev -type f -size -64k -exec sha256sum {{}} + 2>/dev/null | grep {shadow} || true",
    )
    assert copies == "", f"the shadow file's content was copied where the app user reads it: {copies}"


def test_the_env_link_is_the_deploys_again_and_the_site_serves(hostile_deploy) -> None:
    """The deploy put back what the app user broke that matters (the release's env link, as the
    app user), and the next deploy finds nothing to do."""
    _, release, _, _ = hostile_deploy
    link = on_host(HOST, f"readlink {HOME}/releases/{release}/.env.production")
    assert link == "/etc/mastodon/env.production"
    assert on_host(HOST, f"stat -c %U {HOME}/releases/{release}/.env.production") == "mastodon"
    again = run_deploy(INVENTORY)
    assert again.returncode == 0 and again.changed_count == 0, again.changed
    status, _ = get("/health")
    assert status == 200
