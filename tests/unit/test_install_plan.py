"""The real install path, as planned for an app host of the Hetzner fleet (through `@fake`).

This path cannot run here: Node's apt repository, GitHub and rubygems are out of reach. So its
plan is checked instead: which steps, in which order, as which user, in which directory, with
which environment, and under which conditions (what a marker or an existing Ruby skips).
"""

from __future__ import annotations

import re

from fleet_builder import default_fleet_data
from plans import DB_SETUP, PRECOMPILE, RELEASE, STEPS, Plan, as_user_script, existing_file, plan_host
from pyinfra.api import FileUploadCommand

CHECKOUT = "Mastodon release | Check out v4.6.5"
BUNDLE = "Mastodon release | bundle: {bundle} install -j$(nproc) (v4.6.5)"
YARN = "Mastodon release | yarn: yarn install --immutable (v4.6.5)"
PRE_MIGRATE = "Mastodon release | Migrate the database (pre-deployment migrations, v4.6.5)"
SWITCH = "Switch the live release | Switch /var/lib/mastofleet/release/live to /home/mastodon/releases/v4.6.5"
BUILD_RUBY = "Mastodon release | Build the Ruby of v4.6.5 with jemalloc (rbenv)"


def raw(plan: Plan, name: str) -> str:
    return " ; ".join(str(command.get_raw_value()) for command in plan.commands(name))


def arguments(plan: Plan, name: str) -> dict:
    return plan.operation(name).global_arguments


def in_order(plan: Plan, *names: str) -> None:
    positions = [plan.names.index(name) for name in names]
    assert positions == sorted(positions), names


def test_node_from_nodes_repository_then_corepack(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    plan = plan_host("freud", hosts, common)
    repository = "Mastodon release | Add Node's apt repository (Node >= 22; Debian 13 has 20)"
    packages = "Mastodon release | Install the application's system packages"
    corepack = "Mastodon release | Enable corepack (yarn as package.json asks)"
    in_order(plan, "Mastodon release | Trust Node's apt repository key", repository, packages, corepack, CHECKOUT)
    assert "node_24.x nodistro main" in raw(plan, repository)
    installed = raw(plan, packages)
    for package in ("nodejs", "ruby", "ruby-dev", "libvips-tools", "ffmpeg", "libjemalloc2", "libpq-dev"):
        assert re.search(rf"\b{re.escape(package)}\b", installed), package
    assert "imagemagick" not in installed  # removed from Mastodon in 4.6
    assert raw(plan, corepack) == "corepack enable"


def test_the_release_is_built_in_order_as_the_application_user(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    plan = plan_host("freud", hosts, common)
    bundle = BUNDLE.format(bundle="/usr/bin/bundle")
    precompile = PRECOMPILE.format("v4.6.5")
    in_order(plan, CHECKOUT, bundle, YARN, precompile, DB_SETUP, PRE_MIGRATE, SWITCH)
    checkout = raw(plan, CHECKOUT)
    assert "git clone --quiet --branch v4.6.5 -- https://github.com/mastodon/mastodon.git" in checkout
    directory, script = as_user_script(raw(plan, bundle))
    assert directory == RELEASE
    assert "config set --local deployment true" in script and "config set --local without 'development test'" in script
    # Root runs each step as the app user (runuser, which also does the `cd`: root never enters the
    # app user's directories) and notes it done in its own release record.
    as_user = "runuser -u mastodon -- sh -c 'cd /home/mastodon/releases/v4.6.5 && "
    for name in (bundle, YARN, precompile, DB_SETUP, PRE_MIGRATE):
        given = arguments(plan, name)
        assert not given.get("_sudo") and not given.get("_chdir"), name
        assert raw(plan, name).startswith(as_user), name
    assert arguments(plan, precompile)["_env"] == {"RAILS_ENV": "production", "SECRET_KEY_BASE_DUMMY": "1"}
    assert arguments(plan, PRE_MIGRATE)["_env"]["SKIP_POST_DEPLOYMENT_MIGRATIONS"] == "true"
    # Every step leaves its marker, so a rerun skips it and a failed step is tried again.
    for name, step in ((bundle, "bundle"), (YARN, "yarn"), (precompile, "assets")):
        assert raw(plan, name).endswith(f"' && mkdir -p {STEPS} && touch {STEPS}/{step}")


def test_database_setup_is_guarded_against_a_database_with_a_schema(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    plan = plan_host("freud", hosts, common)
    _, setup = as_user_script(raw(plan, DB_SETUP))
    assert "to_regclass('public.schema_migrations')" in setup
    assert 'if [ -z "$tables" ]; then SAFETY_ASSURED=1 bin/rails db:setup; fi' in setup
    assert raw(plan, DB_SETUP).endswith("touch /var/lib/mastofleet/release/database-initialised")
    for other in ("fritz", "franz"):
        assert DB_SETUP not in plan_host(other, hosts, common).names


def test_nothing_is_rebuilt_for_a_prepared_release(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    markers = {}
    for step in ("bundle", "yarn", "assets", "pre-migrated", "migrated", "streaming-code"):
        markers |= existing_file(f"{STEPS}/{step}")
    markers |= existing_file("/var/lib/mastofleet/release/database-initialised")
    plan = plan_host("freud", hosts, common, {"freud": markers})
    built = [name for name in plan.names if re.search(r"\| (bundle|yarn|assets):|Migrate|Set up the database", name)]
    assert built == []


def test_rbenv_builds_the_release_ruby_with_jemalloc(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    common["instance"]["install"] = {**common["instance"]["install"], "ruby": "rbenv"}
    plan = plan_host("freud", hosts, common)
    in_order(plan, CHECKOUT, BUILD_RUBY, BUNDLE.format(bundle="/home/mastodon/.rbenv/shims/bundle"))
    # All of it as the app user in the release (root never reads the release's .ruby-version).
    directory, build = as_user_script(raw(plan, BUILD_RUBY))
    assert directory == RELEASE
    for part in (
        "git clone --quiet -- https://github.com/rbenv/rbenv.git /home/mastodon/.rbenv",
        "git clone --quiet -- https://github.com/rbenv/ruby-build.git /home/mastodon/.rbenv/plugins/ruby-build",
        "version=$(cat .ruby-version)",
        'RUBY_CONFIGURE_OPTS=--with-jemalloc /home/mastodon/.rbenv/bin/rbenv install "$version"',
    ):
        assert part in build, part
    assert raw(plan, BUILD_RUBY).endswith(f"touch {STEPS}/ruby")
    assert not re.search(r"\bruby-dev\b", raw(plan, "Mastodon release | Install the application's system packages"))
    (unit,) = [
        command
        for command in plan.commands("Mastodon web | Put /etc/systemd/system/mastodon-web.service")
        if isinstance(command, FileUploadCommand)
    ]
    assert "ExecStart=/home/mastodon/.rbenv/shims/bundle exec puma -C config/puma.rb" in unit.src.getvalue()


def test_rbenv_builds_once_per_release(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    common["instance"]["install"] = {**common["instance"]["install"], "ruby": "rbenv"}
    plan = plan_host("freud", hosts, common, {"freud": existing_file(f"{STEPS}/ruby")})
    assert BUILD_RUBY not in plan.names


def test_an_upgrade_that_keeps_a_rollback_holds_the_post_deployment_migrations(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    post = "Post-deployment migrations | Migrate the database (all migrations, v4.6.5)"
    assert post in plan_host("freud", hosts, common).names
    common["mastofleet_hold_post_migrations"] = "true"  # what `mastofleet upgrade --keep-rollback` passes
    held = plan_host("freud", hosts, common)
    assert post not in held.names and PRE_MIGRATE in held.names
