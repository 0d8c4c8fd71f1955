"""Bad input to `deploy`, `upgrade` and `rollback` is refused before pyinfra connects anywhere.

The git repository is a real bare repository on disk (file://), standing in for GitHub, which is out
of reach here; the rollback decisions are checked on the answers app hosts give.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fleet_builder import SECRET_NAMES
from test_cli import INVENTORY, mastofleet

from mastofleet.model.secrets_reference import environment_variable
from mastofleet.remote.releases import HostReleases, RolloutError, rollback_target

CANARY = "canary-77aa"
SECRETS = {environment_variable(name): f"{CANARY}-{name}" for name in SECRET_NAMES}
PYINFRA_STARTED = "--> Loading config"


@pytest.fixture(scope="module")
def mastodon_repository(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bare git repository with the tags v4.6.4 and v4.6.5."""
    work = tmp_path_factory.mktemp("mastodon")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(work)]
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    for tag in ("v4.6.4", "v4.6.5"):
        (work / "VERSION").write_text(tag)
        subprocess.run([*git, "add", "VERSION"], check=True)
        subprocess.run([*git, "commit", "-qm", tag], check=True)
        subprocess.run([*git, "tag", tag], check=True)
    bare = tmp_path_factory.mktemp("bare") / "mastodon.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return f"file://{bare}"


def code_source(url: str) -> str:
    return "instance.source=" + json.dumps({"git_url": url})


def test_an_unknown_version_tag_is_refused_before_anything(mastodon_repository: str) -> None:
    result = mastofleet(
        "upgrade", INVENTORY, "--version", "v4.6.9", "--data", code_source(mastodon_repository), environment=SECRETS
    )
    assert result.returncode == 2, result.stderr
    assert f"v4.6.9 is not a tag or branch of {mastodon_repository} (latest similar: v4.6.4, v4.6.5)" in result.stderr
    assert PYINFRA_STARTED not in result.stdout + result.stderr


def test_a_known_tag_passes_the_check(mastodon_repository: str, tmp_path: Path) -> None:
    """The same check lets an existing tag through (the deploy would go on to pyinfra)."""
    from mastofleet.runtime.pyinfra_deploy import preflight

    preflight_environment = pytest.MonkeyPatch()
    try:
        for key, value in SECRETS.items():
            preflight_environment.setenv(key, value)
        preflight(INVENTORY, [code_source(mastodon_repository)])  # raises if anything is refused
    finally:
        preflight_environment.undo()


def test_a_wrong_age_key_is_refused_naming_the_secret_but_no_value(tmp_path: Path) -> None:
    """The committed example secrets file is encrypted to a key nobody has: any other key fails."""
    from mastofleet.project.secrets import generate_identity

    key_file = tmp_path / "operator.key"
    generate_identity(key_file)
    result = mastofleet("deploy", INVENTORY, environment={"MASTOFLEET_AGE_KEY_FILE": str(key_file)})
    assert result.returncode == 2
    assert (
        "cannot decrypt secret '" in result.stderr
        and "hachyderm.json: the age key is not one of its recipients" in result.stderr
    )
    assert PYINFRA_STARTED not in result.stdout + result.stderr
    assert CANARY not in result.stdout + result.stderr


def test_a_missing_secrets_file_is_refused(tmp_path: Path) -> None:
    result = mastofleet("deploy", INVENTORY, "--data", "secrets_file=secrets/nowhere.json")
    assert result.returncode == 1
    assert (
        "secrets: postgres_password: the fleet needs this secret but the secret store does not hold it" in result.stderr
    )
    assert PYINFRA_STARTED not in result.stdout + result.stderr


def releases(live: str | None, previous: str | None, *present: str) -> HostReleases:
    return HostReleases(live, previous, tuple(present))


def test_rollback_goes_to_the_previous_release_every_host_agrees_on() -> None:
    answers = {host: releases("v2-b", "v1-a", "v1-a", "v2-b") for host in ("freud", "fritz", "franz")}
    assert rollback_target(answers) == "v1-a"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (
            {"freud": releases("v2-b", "v1-a", "v1-a"), "fritz": releases("v2-b", None, "v2-b")},
            "no previous release on fritz",
        ),
        (
            {"freud": releases("v2-b", "v1-a", "v1-a"), "fritz": releases("v3-c", "v2-b", "v2-b")},
            "the app hosts disagree on the previous release (freud: v1-a, fritz: v2-b)",
        ),
        ({"freud": releases("v2-b", "v1-a", "v2-b")}, "release v1-a is gone from freud"),
        ({"freud": "unreachable: timed out"}, "cannot read the releases of every app host (freud: unreachable"),
    ],
    ids=["no-previous", "disagree", "gone", "unreachable"],
)
def test_rollback_refuses_what_cannot_be_rolled_back(answers, message) -> None:
    with pytest.raises(RolloutError) as raised:
        rollback_target(answers)
    assert message in str(raised.value)
