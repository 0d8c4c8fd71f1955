"""The Mastodon application on app hosts: runtime, a release directory per code version, the shared
`.env.production`, gems, JavaScript packages, assets, the first database setup and migrations.

Each code version lives in its own `releases/<name>` directory; `live` is a symlink switched
atomically once the release is fully prepared, so what serves is never half-installed and a
rollback is a switch back. Every preparation step leaves a marker in the release, so a rerun skips
what is done and a failed step is retried.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import tempfile
from functools import cache
from pathlib import Path
from typing import TypedDict

from pyinfra import host as current_host
from pyinfra.api.exceptions import DeployError
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import Directory, File, FileContents, Sha256File
from pyinfra.operations import apt, files, git, server

from mastofleet.deploys import search
from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.operations import AsUser, as_user, atomic_symlink, changed, put_files, role_deploy
from mastofleet.deploys.release import Application as Application
from mastofleet.deploys.release import Prepared as Prepared
from mastofleet.deploys.release import Release as Release
from mastofleet.model import Fleet, Host, Instance, Role
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.environment import render_environment

# What Mastodon needs on Debian 13 to build and run (its install guide, ImageMagick gone since 4.6).
MASTODON_PACKAGES = [
    "git",
    "file",
    "ffmpeg",
    "libvips-tools",
    "libpq-dev",
    "libxslt1-dev",
    "libxml2-dev",
    "protobuf-compiler",
    "pkg-config",
    "autoconf",
    "bison",
    "build-essential",
    "libssl-dev",
    "libyaml-dev",
    "libreadline-dev",
    "zlib1g-dev",
    "libffi-dev",
    "libgdbm-dev",
    "libidn-dev",
    "libicu-dev",
    "libjemalloc-dev",
    "libjemalloc2",
    "postgresql-client",
]
RUBY_PACKAGES = ["ruby", "ruby-dev", "ruby-bundler"]
ARCHIVE_EXCLUDES = {".git", "node_modules", ".yarn"}  # top-level entries never shipped
NODE_REPOSITORY_KEY = "https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key"
NODE_REPOSITORY = "https://deb.nodesource.com/node_24.x"
JEMALLOC = "libjemalloc.so.2"
RELEASE_STEPS = ("bundle", "yarn", "assets")  # each leaves a marker in the release when done


STREAMING_CODE = ".mastofleet/streaming-code"  # digest of what the streaming server runs, per release


def bundle_command(instance: Instance) -> str:
    if instance.install.ruby == "rbenv":
        return f"{instance.home}/.rbenv/shims/bundle"
    return "/usr/bin/bundle"


@cache
def source_archive(path: str) -> tuple[str, str]:
    """A reproducible tar.gz of a local source directory: (file on disk, content digest)."""
    buffer = io.BytesIO()
    root = Path(path)
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for item in sorted(root.rglob("*")):
            relative = item.relative_to(root)
            if relative.parts[0] in ARCHIVE_EXCLUDES or "__pycache__" in relative.parts:
                continue
            info = archive.gettarinfo(str(item), arcname=str(relative))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if item.is_file() and not item.is_symlink():
                with item.open("rb") as handle:
                    archive.addfile(info, handle)
            else:
                archive.addfile(info)
    raw = buffer.getvalue()
    digest = hashlib.sha256(raw).hexdigest()
    target = Path(tempfile.gettempdir()) / f"mastofleet-source-{digest[:16]}.tar.gz"
    if not target.exists():
        with gzip.GzipFile(filename="", mode="wb", fileobj=target.open("wb"), mtime=0) as compressed:
            compressed.write(raw)
    return str(target), digest


def release_for(instance: Instance, name: str | None = None) -> Release:
    """Where this fleet's code version lives on every app host (or the named, prepared release)."""
    if name:
        return Release(name, f"{instance.releases_directory}/{name}")
    if instance.source.path:
        _, digest = source_archive(instance.source.path)
        name = f"{instance.version}-{digest[:12]}"
    else:
        name = instance.source.ref or instance.version
    return Release(name, f"{instance.releases_directory}/{name}")


def shared_environment_path(instance: Instance) -> str:
    return f"{instance.home}/shared/.env.production"


def shared_streaming_code_path(instance: Instance) -> str:
    """The digest of the streaming code `live` runs: rewritten only when that code changes."""
    return f"{instance.home}/shared/streaming-code"


def previous_release_path(instance: Instance) -> str:
    """A link to the release `live` pointed at before the last switch: what a rollback returns to."""
    return f"{instance.home}/previous"


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    instance = fleet.instance
    return [
        ConfigFile(
            shared_environment_path(instance),
            render_environment(fleet, secrets),
            mode="600",
            user=instance.user,
            group=instance.user,
            sensitive=True,
        )
    ]


def _marker(release: Release, step: str) -> str:
    return f"{release.directory}/.mastofleet/{step}"


def _step_needed(release: Release, step: str) -> bool:
    # Read before anything runs: a marker present means this release already did the step.
    return not current_host.get_fact(File, path=_marker(release, step))


class Owner(TypedDict):
    user: str
    group: str


def _as_application_user(instance: Instance) -> AsUser:
    # Not a login shell: sudo -i would expand $VARIABLES in the outer shell before ours runs.
    return as_user(instance.user)


def install_runtime(instance: Instance) -> None:
    """Ruby, Node and the system libraries the release needs."""
    packages = instance.install.system_packages
    if packages is None:
        packages = MASTODON_PACKAGES + (RUBY_PACKAGES if instance.install.ruby == "debian" else [])
    if instance.install.node == "nodesource":
        apt.packages(name="Install apt key tools", packages=["gnupg", "curl", "ca-certificates"])
        key = apt.key(name="Trust Node's apt repository key", src=NODE_REPOSITORY_KEY)
        repository = apt.repo(
            name="Add Node's apt repository (Node >= 22; Debian 13 has 20)",
            src=f"deb [signed-by=/etc/apt/keyrings/nodesource.gpg] {NODE_REPOSITORY} nodistro main",
            filename="nodesource",
        )
        apt.update(name="Refresh apt lists for Node", _if=changed(key, repository))
        packages = [*packages, "nodejs"]
    apt.packages(name="Install the application's system packages", packages=packages)
    if instance.install.node == "nodesource" and not current_host.get_fact(File, path="/usr/bin/yarn"):
        server.shell(name="Enable corepack (yarn as package.json asks)", commands=["corepack enable"])


def install_code(instance: Instance, release: Release) -> list[OperationMeta]:
    """Put the code of this version into its release directory, leaving `live` alone."""
    owner: Owner = {"user": instance.user, "group": instance.user}
    files.directory(name="Create the releases directory", path=instance.releases_directory, **owner)
    files.directory(name="Create the shared directory", path=f"{instance.home}/shared", mode="750", **owner)
    if instance.source.path:
        archive, _ = source_archive(instance.source.path)
        remote_archive = f"{release.directory}.tar.gz"
        unpacked = bool(current_host.get_fact(Directory, path=release.directory))
        upload = files.put(name=f"Upload the code of {release.name}", src=archive, dest=remote_archive, **owner)
        unpack = server.shell(
            name=f"Unpack {release.name}",
            commands=[
                f"rm -rf {release.directory}.unpacking && mkdir -p {release.directory}.unpacking"
                f" && tar -xzf {remote_archive} -C {release.directory}.unpacking"
                f" && chown -R {instance.user}:{instance.user} {release.directory}.unpacking"
                f" && rm -rf {release.directory} && mv {release.directory}.unpacking {release.directory}"
            ],
            _if=lambda: upload.did_change() or not unpacked,
        )
        return [upload, unpack]
    checkout = git.repo(
        name=f"Check out {release.name}",
        src=instance.source.git_url or "",
        dest=release.directory,
        branch=instance.source.ref or instance.version,
        pull=False,
        **owner,
    )
    return [checkout]


RBENV_REPOSITORY = "https://github.com/rbenv/rbenv.git"
RUBY_BUILD_REPOSITORY = "https://github.com/rbenv/ruby-build.git"


def install_rbenv_ruby(instance: Instance, release: Release, code: list[OperationMeta]) -> None:
    """The Ruby the release's `.ruby-version` names, built by rbenv with jemalloc (install.ruby = rbenv)."""
    rbenv = f"{instance.home}/.rbenv"
    owner: Owner = {"user": instance.user, "group": instance.user}
    git.repo(name="Install rbenv", src=RBENV_REPOSITORY, dest=rbenv, pull=False, **owner)
    git.repo(
        name="Install ruby-build", src=RUBY_BUILD_REPOSITORY, dest=f"{rbenv}/plugins/ruby-build", pull=False, **owner
    )
    wanted = current_host.get_fact(FileContents, path=f"{release.directory}/.ruby-version")
    version = wanted[0].strip() if wanted else None
    built = bool(version) and bool(current_host.get_fact(File, path=f"{rbenv}/versions/{version}/bin/ruby"))
    # A new release may name a Ruby that ruby-build learnt about after it was cloned.
    server.shell(
        name="Update ruby-build's list of Ruby versions",
        commands=[f"git -C {rbenv}/plugins/ruby-build pull --ff-only"],
        _if=lambda: not built and changed(code)(),
        **_as_application_user(instance),
    )
    server.shell(
        name=f"Build the Ruby of {release.name} with jemalloc (rbenv)",
        commands=[
            f'version=$(cat .ruby-version) && if [ ! -x {rbenv}/versions/"$version"/bin/ruby ]; then'
            f' RUBY_CONFIGURE_OPTS=--with-jemalloc {rbenv}/bin/rbenv install "$version"; fi'
            f' && {rbenv}/bin/rbenv global "$version" && {rbenv}/bin/rbenv exec gem install bundler --conservative'
        ],
        _if=lambda: not built,
        _chdir=release.directory,
        **_as_application_user(instance),
    )


def prepare_release(instance: Instance, release: Release) -> None:
    """Gems, JavaScript packages and assets for the release; each step only once per release."""
    application_user = _as_application_user(instance)
    install = instance.install
    steps: list[tuple[str, str, dict[str, str]]] = []
    bundle = bundle_command(instance)
    if install.bundle_deployment:
        bundle_install = (
            f"{bundle} config set --local deployment true"
            f" && {bundle} config set --local without 'development test'"
            f" && {bundle} install -j$(nproc)"
        )
    else:
        bundle_install = f"{bundle} install" + (" --local" if install.bundle_local else "")
    steps.append(("bundle", bundle_install, {}))
    steps.append(("yarn", f"{install.yarn_command} install --immutable", {}))
    steps.append(
        (
            "assets",
            "bin/rails assets:precompile",
            {"RAILS_ENV": "production", "SECRET_KEY_BASE_DUMMY": "1"},
        )
    )
    for step, command, environment in steps:
        if not _step_needed(release, step):
            continue
        server.shell(
            name=f"{step}: {command.split(' && ')[-1]} ({release.name})",
            commands=[f"{command} && mkdir -p .mastofleet && touch .mastofleet/{step}"],
            _env=environment,
            _chdir=release.directory,
            **application_user,
        )
    if not current_host.get_fact(File, path=f"{release.directory}/{STREAMING_CODE}"):
        # Streaming restarts (dropping every WebSocket) only when this digest differs from live's.
        server.shell(
            name=f"Fingerprint the streaming code of {release.name}",
            commands=[
                "mkdir -p .mastofleet && find streaming package.json yarn.lock -type f -print0 2>/dev/null"
                f" | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-64 > {STREAMING_CODE}"
            ],
            _chdir=release.directory,
            **application_user,
        )


def require_prepared(release: Release) -> None:
    """A rollback goes only to a release that is complete on this host; else nothing is changed."""
    missing = [step for step in RELEASE_STEPS if _step_needed(release, step)]
    if missing:
        raise DeployError(
            f"{current_host.name}: release {release.name} is not prepared here (missing: {', '.join(missing)}):"
            " a rollback can only return to a release every app host still has. Nothing was changed;"
            " deploy the version you want instead."
        )


def link_environment(instance: Instance, release: Release) -> OperationMeta:
    return files.link(
        name="Link the shared .env.production into the release",
        path=f"{release.directory}/.env.production",
        target=shared_environment_path(instance),
        user=instance.user,
        group=instance.user,
    )


def direct_database_environment(fleet: Fleet) -> dict[str, str]:
    """Migrations go straight to PostgreSQL: PgBouncer's transaction mode cannot run them."""
    address, port = fleet.primary_endpoint()  # the old primary while the database migrates
    return {"RAILS_ENV": "production", "DB_HOST": address, "DB_PORT": str(port)}


def setup_database_once(fleet: Fleet, release: Release) -> None:
    """`db:setup` exactly once for the fleet: only on the first app host, only on an empty database."""
    instance = fleet.instance
    marker = f"{instance.home}/shared/.database-initialised"
    if current_host.get_fact(File, path=marker):
        return
    environment = direct_database_environment(fleet)
    # Reads DB_PASS from the env file inside the shell, so no password is on a command line or log.
    empty_check = (
        "set -a && . ./.env.production && set +a"
        f' && export PGPASSWORD="$DB_PASS" DB_HOST={environment["DB_HOST"]} DB_PORT={environment["DB_PORT"]}'
        ' && tables=$(psql -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" -tAc'
        " \"SELECT to_regclass('public.schema_migrations')\")"
    )
    server.shell(
        name="Set up the database (first install only; never on a database that has a schema)",
        commands=[
            f'{empty_check} && if [ -z "$tables" ]; then SAFETY_ASSURED=1 bin/rails db:setup; fi && touch {marker}'
        ],
        _env={"RAILS_ENV": "production"},
        _chdir=release.directory,
        **_as_application_user(instance),
    )


def migrate(fleet: Fleet, release: Release, post_deployment: bool) -> None:
    """Run this release's migrations once, on the first app host, straight against PostgreSQL."""
    step = "migrated" if post_deployment else "pre-migrated"
    if not _step_needed(release, step):
        return
    environment = direct_database_environment(fleet)
    if not post_deployment:
        environment["SKIP_POST_DEPLOYMENT_MIGRATIONS"] = "true"
    server.shell(
        name=f"Migrate the database ({'all' if post_deployment else 'pre-deployment'} migrations, {release.name})",
        commands=[f"bin/rails db:migrate && mkdir -p .mastofleet && touch .mastofleet/{step}"],
        _env=environment,
        _chdir=release.directory,
        **_as_application_user(fleet.instance),
    )


@role_deploy("Mastodon release")
def prepare(
    fleet: Fleet, host: Host, secrets: SecretValues, first_app_host: bool, release_name: str | None = None
) -> Prepared:
    """
    Install the runtime, put this version's code into its own release directory, write the
    shared `.env.production` (mode 0600, identical on every app host), install gems and JavaScript
    packages, precompile assets once per release; on the first app host, set the database up once
    for the fleet and run the pre-deployment migrations. Nothing that serves is touched.
    With `release_name`, use that already prepared release (a rollback) instead of the model's.
    """
    instance = fleet.instance
    server.user(
        name=f"Create the {instance.user} user",
        user=instance.user,
        home=instance.home,
        shell="/bin/bash",
        create_home=True,
    )
    install_runtime(instance)
    release = release_for(instance, release_name)
    if release_name:
        require_prepared(release)
    code = [] if release_name else install_code(instance, release)
    if instance.install.ruby == "rbenv":
        install_rbenv_ruby(instance, release, code)
    configuration = put_files(files_for(fleet, host, secrets))
    link_environment(instance, release)
    prepare_release(instance, release)
    if first_app_host and not release_name:
        setup_database_once(fleet, release)
        migrate(fleet, release, post_deployment=False)
    return Prepared(release, code, configuration)


@role_deploy("Switch the live release")
def switch_release(fleet: Fleet, host: Host, prepared: Prepared) -> Application:
    """
    Point `live` at the prepared release in one rename (the previous target is kept as `previous`
    for a rollback) and note the digest of its streaming code. Running processes keep serving the
    release they started from until the rollout restarts them.
    """
    instance = fleet.instance
    release = prepared.release
    switch = atomic_symlink(
        instance.live_directory, release.directory, instance.user, previous=previous_release_path(instance)
    )
    shared_code = shared_streaming_code_path(instance)
    release_code = f"{release.directory}/{STREAMING_CODE}"
    noted = current_host.get_fact(Sha256File, path=shared_code)
    prepared_code = current_host.get_fact(Sha256File, path=release_code)  # None while the release is new
    server.shell(
        name="Note the streaming code that live runs",
        commands=[f"cmp -s {release_code} {shared_code} || cp {release_code} {shared_code}"],
        _if=lambda: (switch is not None and switch.did_change()) or noted is None or noted != prepared_code,
    )
    return Application(
        release,
        [*prepared.code, *([switch] if switch else [])],
        prepared.configuration,
        [shared_environment_path(instance), instance.live_directory],
        switch,
    )


@role_deploy("Post-deployment migrations")
def post_deployment_migrations(fleet: Fleet, host: Host) -> None:
    """After every process runs the new code: the full `db:migrate`, once, on the first app host."""
    migrate(fleet, release_for(fleet.instance), post_deployment=True)


def _prepare(run: Run) -> None:
    run.prepared = prepare(
        run.fleet, run.host, run.secrets, first_app_host=run.first_app_host, release_name=run.rollback_release
    )
    if run.first_app_host:
        search.create_indices(run.fleet, run.host, release_for(run.fleet.instance, run.rollback_release))


def _start(run: Run) -> None:
    assert run.prepared is not None, "the release is prepared before it starts"
    run.application = switch_release(run.fleet, run.host, run.prepared)


def _migrate(run: Run) -> None:
    if run.first_app_host and not run.rollback_release:
        post_deployment_migrations(run.fleet, run.host)


COMPONENT = Component(
    name="mastodon",
    applies=with_role(Role.app),
    files=files_for,
    steps={Stage.PREPARE: _prepare, Stage.START: _start, Stage.MIGRATE: _migrate},
)
