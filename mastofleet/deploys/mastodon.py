"""The Mastodon application on app hosts: runtime, a release directory per code version, the shared
`.env.production`, gems, JavaScript packages, assets, the first database setup and migrations.

Each code version lives in its own `releases/<name>` directory; `live` is a symlink switched
atomically once the release is fully prepared, so what serves is never half-installed and a
rollback is a switch back. Every preparation step leaves a marker, so a rerun skips what is done
and a failed step is retried.

The trust boundary (docs/security.md): the app user owns its home and the code, so root never
follows, executes or interpolates anything there. The work in the app user's files (unpacking,
gems, assets, migrations) runs as the app user (`as_user_command`); what root needs to know about
the releases (`live`, `previous`, the markers, the streaming code's digest) lives in the release
record, a directory only root writes; the environment file lives in /etc/mastodon.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import tempfile
from functools import cache
from pathlib import Path

from pyinfra import host as current_host
from pyinfra.api.exceptions import DeployError
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import File, Link, Sha256File
from pyinfra.operations import apt, files, server

from mastofleet.deploys import search
from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.operations import as_user_command, atomic_symlink, changed, put_files, role_deploy
from mastofleet.deploys.release import Application as Application
from mastofleet.deploys.release import Prepared as Prepared
from mastofleet.deploys.release import Release as Release
from mastofleet.model import Fleet, Host, Instance, Role
from mastofleet.model.instance import CONFIGURATION_DIRECTORY
from mastofleet.quoting import shell
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
RELEASE_STEPS = ("bundle", "yarn", "assets")  # each leaves a marker in the release record when done
CODE_DIRECTORY = "/var/lib/mastofleet/code"  # root's copies of the uploaded code archives
STREAMING_FILES = "streaming package.json yarn.lock"  # what the streaming server runs, fingerprinted


def bundle_executable(instance: Instance) -> str:
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
    """`.env.production`, shared by every release (each release's `.env.production` links to it)."""
    return instance.environment_file


def shared_streaming_code_path(instance: Instance) -> str:
    """The digest of the streaming code `live` runs: rewritten only when that code changes."""
    return f"{instance.release_state_directory}/streaming-code"


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    instance = fleet.instance
    return [
        ConfigFile(
            shared_environment_path(instance),
            render_environment(fleet, secrets),
            mode="640",
            user="root",
            group=instance.user,
            sensitive=True,
        )
    ]


def _steps_directory(instance: Instance, release: Release) -> str:
    return f"{instance.release_state_directory}/steps/{release.name}"


def _marker(instance: Instance, release: Release, step: str) -> str:
    return f"{_steps_directory(instance, release)}/{step}"


def _step_needed(instance: Instance, release: Release, step: str) -> bool:
    # Read before anything runs: a marker present means this release already did the step.
    return not current_host.get_fact(File, path=_marker(instance, release, step))


def mark_command(instance: Instance, release: Release, step: str) -> str:
    """Root notes in the release record that `step` of `release` is done."""
    return f"mkdir -p {shell(_steps_directory(instance, release))} && touch {shell(_marker(instance, release, step))}"


def release_step(
    instance: Instance,
    release: Release,
    step: str,
    name: str,
    script: str,
    environment: dict[str, str] | None = None,
    directory: str | None = None,
) -> OperationMeta | None:
    """`script` once per release, as the app user in the release directory; root marks it done."""
    if not _step_needed(instance, release, step):
        return None
    return server.shell(
        name=name,
        commands=[
            f"{as_user_command(instance.user, script, directory or release.directory)}"
            f" && {mark_command(instance, release, step)}"
        ],
        _env=environment or {},
    )


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
    """Put the code of this version into its own release directory, leaving `live` alone. The app
    user creates its directories and unpacks (or clones) the code itself: root only uploads the
    archive into its own directory, where the app user can read it and change nothing."""
    user = instance.user
    files.directory(
        name="Create the configuration directory", path=CONFIGURATION_DIRECTORY, user="root", group=user, mode="750"
    )
    home_directories_command = as_user_command(user, f"mkdir -p {shell(instance.releases_directory)}")
    if instance.source.path:
        archive, _ = source_archive(instance.source.path)
        remote_archive = f"{CODE_DIRECTORY}/{release.name}.tar.gz"
        upload = files.put(name=f"Upload the code of {release.name}", src=archive, dest=remote_archive, mode="644")
        unpacking = f"{release.directory}.unpacking"
        unpacked = not _step_needed(instance, release, "unpacked")
        unpack = server.shell(
            name=f"Unpack {release.name}",
            commands=[
                f"{home_directories_command} && "
                + as_user_command(
                    user,
                    f"rm -rf {shell(unpacking)} && mkdir {shell(unpacking)}"
                    f" && tar --no-same-owner -xzf {shell(remote_archive)} -C {shell(unpacking)}"
                    f" && mkdir -p {shell(unpacking + '/tmp')} {shell(unpacking + '/log')}"
                    f" && rm -rf {shell(release.directory)} && mv -T {shell(unpacking)} {shell(release.directory)}",
                )
                + f" && {mark_command(instance, release, 'unpacked')}"
            ],
            _if=lambda: upload.did_change() or not unpacked,
        )
        return [upload, unpack]
    checkout = release_step(
        instance,
        release,
        "checked-out",
        f"Check out {release.name}",
        f"mkdir -p {shell(instance.releases_directory)} && rm -rf {shell(release.directory + '.cloning')}"
        f" && git clone --quiet --branch {shell(instance.source.ref or instance.version)}"
        f" -- {shell(instance.source.git_url or '')} {shell(release.directory + '.cloning')}"
        f" && mkdir -p {shell(release.directory + '.cloning/tmp')} {shell(release.directory + '.cloning/log')}"
        f" && mv -T {shell(release.directory + '.cloning')} {shell(release.directory)}",
        directory=instance.home,
    )
    return [checkout] if checkout else []


RBENV_REPOSITORY = "https://github.com/rbenv/rbenv.git"
RUBY_BUILD_REPOSITORY = "https://github.com/rbenv/ruby-build.git"


def install_rbenv_ruby(instance: Instance, release: Release) -> None:
    """The Ruby the release's `.ruby-version` names, built by rbenv with jemalloc (install.ruby =
    rbenv), once per release, all of it as the app user (root never reads `.ruby-version`)."""
    rbenv = f"{instance.home}/.rbenv"
    ruby_build = f"{rbenv}/plugins/ruby-build"
    script = (
        f"{{ [ -d {shell(rbenv)}/.git ] || git clone --quiet -- {shell(RBENV_REPOSITORY)} {shell(rbenv)}; }}"
        f" && {{ [ -d {shell(ruby_build)}/.git ] || git clone --quiet -- {shell(RUBY_BUILD_REPOSITORY)}"
        f" {shell(ruby_build)}; }}"
        " && version=$(cat .ruby-version)"
        f' && if [ ! -x {shell(rbenv)}/versions/"$version"/bin/ruby ]; then'
        # A new release may name a Ruby that ruby-build learnt about after it was cloned.
        f" git -C {shell(ruby_build)} pull --quiet --ff-only"
        f' && RUBY_CONFIGURE_OPTS=--with-jemalloc {shell(rbenv)}/bin/rbenv install "$version"; fi'
        f' && {shell(rbenv)}/bin/rbenv global "$version"'
        f" && {shell(rbenv)}/bin/rbenv exec gem install bundler --conservative"
    )
    release_step(instance, release, "ruby", f"Build the Ruby of {release.name} with jemalloc (rbenv)", script)


def prepare_release(instance: Instance, release: Release) -> None:
    """Gems, JavaScript packages and assets for the release; each step only once per release."""
    install = instance.install
    bundle = shell(bundle_executable(instance))
    if install.bundle_deployment:
        bundle_install = (
            f"{bundle} config set --local deployment true"
            f" && {bundle} config set --local without 'development test'"
            f" && {bundle} install -j$(nproc)"
        )
    else:
        bundle_install = f"{bundle} install" + (" --local" if install.bundle_local else "")
    steps = [
        ("bundle", bundle_install, {}),
        ("yarn", f"{shell(install.yarn_command)} install --immutable", {}),
        ("assets", "bin/rails assets:precompile", {"RAILS_ENV": "production", "SECRET_KEY_BASE_DUMMY": "1"}),
    ]
    for step, command, environment in steps:
        name = f"{step}: {command.split(' && ')[-1]} ({release.name})"
        release_step(instance, release, step, name, command, environment)
    code = f"{_steps_directory(instance, release)}/streaming-code"
    if not current_host.get_fact(File, path=code):
        # Streaming restarts (dropping every WebSocket) only when this digest differs from live's.
        # The app user reads its code; root keeps only the digest, and only if it is one.
        fingerprint_command = as_user_command(
            instance.user,
            f"find {STREAMING_FILES} -type f -print0 2>/dev/null"
            " | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-64",
            release.directory,
        )
        server.shell(
            name=f"Fingerprint the streaming code of {release.name}",
            commands=[
                f"mkdir -p {shell(_steps_directory(instance, release))}"
                f" && digest=$({fingerprint_command}) && echo \"$digest\" | grep -qxE '[0-9a-f]{{64}}'"
                f' && echo "$digest" > {shell(code + ".new")} && mv -T {shell(code + ".new")} {shell(code)}'
            ],
        )


def require_prepared(instance: Instance, release: Release) -> None:
    """A rollback goes only to a release that is complete on this host; else nothing is changed."""
    missing = [step for step in RELEASE_STEPS if _step_needed(instance, release, step)]
    if missing:
        raise DeployError(
            f"{current_host.name}: release {release.name} is not prepared here (missing: {', '.join(missing)}):"
            " a rollback can only return to a release every app host still has. Nothing was changed;"
            " deploy the version you want instead."
        )


def link_environment(instance: Instance, release: Release) -> OperationMeta | None:
    """The release's `.env.production` links to the shared file; the app user makes the link in its
    own directory (root only compares where the link points)."""
    path = f"{release.directory}/.env.production"
    target = shared_environment_path(instance)
    link = current_host.get_fact(Link, path=path)
    if link and link.get("link_target") == target:
        return None
    return server.shell(
        name="Link the shared .env.production into the release",
        commands=[
            as_user_command(
                instance.user,
                f"ln -sfn {shell(target)} {shell(path + '.linking')} && mv -T {shell(path + '.linking')} {shell(path)}",
            )
        ],
    )


def direct_database_environment(fleet: Fleet) -> dict[str, str]:
    """Migrations go straight to PostgreSQL: PgBouncer's transaction mode cannot run them."""
    address, port = fleet.primary_endpoint()  # the old primary while the database migrates
    return {"RAILS_ENV": "production", "DB_HOST": address, "DB_PORT": str(port)}


def setup_database_once(fleet: Fleet, release: Release) -> None:
    """`db:setup` exactly once for the fleet: only on the first app host, only on an empty database."""
    instance = fleet.instance
    marker = f"{instance.release_state_directory}/database-initialised"
    if current_host.get_fact(File, path=marker):
        return
    environment = direct_database_environment(fleet)
    # Reads DB_PASS from the env file inside the shell, so no password is on a command line or log.
    script = (
        "set -a && . ./.env.production && set +a"
        f' && export PGPASSWORD="$DB_PASS" DB_HOST={shell(environment["DB_HOST"])} DB_PORT={shell(environment["DB_PORT"])}'
        ' && tables=$(psql -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" -tAc'
        " \"SELECT to_regclass('public.schema_migrations')\")"
        ' && if [ -z "$tables" ]; then SAFETY_ASSURED=1 bin/rails db:setup; fi'
    )
    server.shell(
        name="Set up the database (first install only; never on a database that has a schema)",
        commands=[
            f"{as_user_command(instance.user, script, release.directory)}"
            f" && mkdir -p {shell(instance.release_state_directory)} && touch {shell(marker)}"
        ],
        _env={"RAILS_ENV": "production"},
    )


def migrate(fleet: Fleet, release: Release, post_deployment: bool) -> None:
    """Run this release's migrations once, on the first app host, straight against PostgreSQL."""
    step = "migrated" if post_deployment else "pre-migrated"
    environment = direct_database_environment(fleet)
    if not post_deployment:
        environment["SKIP_POST_DEPLOYMENT_MIGRATIONS"] = "true"
    release_step(
        fleet.instance,
        release,
        step,
        f"Migrate the database ({'all' if post_deployment else 'pre-deployment'} migrations, {release.name})",
        "bin/rails db:migrate",
        environment,
    )


@role_deploy("Mastodon release")
def prepare(
    fleet: Fleet, host: Host, secrets: SecretValues, first_app_host: bool, release_name: str | None = None
) -> Prepared:
    """
    Install the runtime, put this version's code into its own release directory, write the
    shared `.env.production` (root:<user>, mode 0640, identical on every app host), install gems and JavaScript
    packages, precompile assets once per release; on the first app host, set the database up once
    for the fleet and run the pre-deployment migrations. Nothing that serves is touched.
    With `release_name`, use that already prepared release (a rollback) instead of the model's.
    """
    instance = fleet.instance
    files.directory(name="Create the release record", path=instance.release_state_directory, mode="755")
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
        require_prepared(instance, release)
    code = [] if release_name else install_code(instance, release)
    if instance.install.ruby == "rbenv":
        install_rbenv_ruby(instance, release)
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
    switch = atomic_symlink(instance.live_directory, release.directory, previous=instance.previous_link)
    shared_code = shared_streaming_code_path(instance)
    release_code = f"{_steps_directory(instance, release)}/streaming-code"  # both in the release record
    noted = current_host.get_fact(Sha256File, path=shared_code)
    prepared_code = current_host.get_fact(Sha256File, path=release_code)  # None while the release is new
    server.shell(
        name="Note the streaming code that live runs",
        commands=[
            f"cmp -s {shell(release_code)} {shell(shared_code)} || cp {shell(release_code)} {shell(shared_code)}"
        ],
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
    if run.first_app_host and not run.rollback_release and not run.hold_post_migrations:
        post_deployment_migrations(run.fleet, run.host)


COMPONENT = Component(
    name="mastodon",
    applies=with_role(Role.app),
    files=files_for,
    steps={Stage.PREPARE: _prepare, Stage.START: _start, Stage.MIGRATE: _migrate},
)
