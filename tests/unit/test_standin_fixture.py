"""Static checks of the stand-in application (tests/fixtures/standin): what the local fleet relies on
when it deploys it (Debian's gems only, offline installs, the entry points Mastodon's units call)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "standin"

# What Debian 13 (trixie) packages: puma, ruby-sidekiq, ruby-pg, ruby-redis and their dependencies.
DEBIAN_GEMS = {
    "concurrent-ruby",
    "connection_pool",
    "logger",
    "nio4r",
    "pg",
    "puma",
    "rack",
    "redis",
    "redis-client",
    "sidekiq",
}


def lock_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in (FIXTURE / "Gemfile.lock").read_text().splitlines():
        if line and not line.startswith(" "):
            current = line
            sections[current] = []
        elif line.strip():
            sections[current].append(line)
    return sections


def test_lock_holds_only_debian_gems_and_the_shim() -> None:
    sections = lock_sections()
    gems = {m.group(1) for line in sections["GEM"] if (m := re.match(r"^    (\S+) \(", line))}
    assert gems == DEBIAN_GEMS
    assert "    standin-rails (0.1.0)" in sections["PATH"]
    assert "  remote: vendor/standin-rails" in sections["PATH"]
    assert "RUBY VERSION" not in sections  # a Ruby point release must not invalidate the lock


def test_bundler_stays_local_and_frozen() -> None:
    config = (FIXTURE / ".bundle" / "config").read_text()
    assert 'BUNDLE_FROZEN: "true"' in config
    assert "BUNDLE_DEPLOYMENT" not in config and "BUNDLE_PATH" not in config
    assert (FIXTURE / "vendor" / "cache").is_dir()
    assert not list((FIXTURE / "vendor" / "cache").glob("*.gem"))


def test_node_side_has_no_dependencies() -> None:
    package = json.loads((FIXTURE / "package.json").read_text())
    assert not package.get("dependencies") and not package.get("devDependencies")
    entries = [line for line in (FIXTURE / "yarn.lock").read_text().splitlines() if line.startswith('"')]
    assert entries == ['"@mastofleet/standin@workspace:.":']
    assert "nodeLinker: node-modules" in (FIXTURE / ".yarnrc.yml").read_text()
    requires = set(re.findall(r"require\('([^']+)'\)", (FIXTURE / "streaming" / "index.js").read_text()))
    assert requires and all(name.startswith("node:") for name in requires)


def test_entry_points_the_units_and_the_deploy_call() -> None:
    for script in ("bin/rails", "bin/tootctl", "bin/prometheus_exporter"):
        path = FIXTURE / script
        assert os.access(path, os.X_OK), f"{script} must be executable"
        assert path.read_text().startswith("#!/usr/bin/env ruby\n")
    # sidekiq without -r insists on config/application.rb and requires config/environment.rb
    for name in ("config/application.rb", "config/environment.rb", "config/puma.rb", "config.ru", "streaming/index.js"):
        assert (FIXTURE / name).is_file(), name
    assert (FIXTURE / "VERSION").read_text() == "v1\n"


def test_puma_config_reads_mastodons_knobs() -> None:
    puma = (FIXTURE / "config" / "puma.rb").read_text()
    for key in ("BIND", "PORT", "SOCKET", "WEB_CONCURRENCY", "MAX_THREADS", "MIN_THREADS", "PERSISTENT_TIMEOUT"):
        assert f'"{key}"' in puma
    assert "preload_app!" in puma
