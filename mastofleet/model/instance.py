"""The instance section: the site, its version, where its code comes from and how it is installed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from mastofleet.model.base import Strict
from mastofleet.model.release_names import release_name

RELEASE_STATE_DIRECTORY = "/var/lib/mastofleet/release"
CONFIGURATION_DIRECTORY = "/etc/mastodon"


class CodeSource(Strict):
    """Where the Mastodon code comes from: a git URL and ref, or a directory on the operator's machine."""

    git_url: str | None = Field("https://github.com/mastodon/mastodon.git", description="Git repository to clone.")
    ref: str | None = Field(None, description="Git ref to check out; defaults to the version tag.")
    path: str | None = Field(None, description="Local directory uploaded instead of a git checkout (the stand-in app).")

    @field_validator("ref")
    @classmethod
    def _plain_ref(cls, ref: str | None) -> str | None:
        # The ref names the release directory on every app host.
        return None if ref is None else release_name(ref, "ref")

    @model_validator(mode="after")
    def _one_source(self) -> CodeSource:
        if self.path is not None and self.ref is not None:
            raise ValueError("give either path or git_url+ref, not both")
        return self


class Install(Strict):
    """How the application's runtime is installed on app hosts."""

    ruby: Literal["debian", "rbenv"] = Field("debian", description="Ruby from Debian 13 (3.3) or rbenv with jemalloc.")
    node: Literal["nodesource", "debian"] = Field(
        "nodesource", description="Node >= 22 from Node's own apt repository, or Debian's nodejs."
    )
    bundle_deployment: bool = Field(
        True, description="`bundle config deployment true`: install only from Gemfile.lock into vendor/."
    )
    bundle_local: bool = Field(False, description="`bundle install --local`: no gem downloads.")
    yarn_command: str = Field("yarn", description="Yarn binary: `yarn` via corepack, or `yarnpkg`.")
    system_packages: list[str] | None = Field(
        None,
        description="Debian packages the application needs; unset: Mastodon's build and runtime dependencies.",
    )


class Instance(Strict):
    """The Mastodon instance as the world sees it."""

    local_domain: str = Field(description="LOCAL_DOMAIN: the domain in user handles; never changes.")
    web_domain: str | None = Field(None, description="WEB_DOMAIN when the site is served elsewhere.")
    version: str = Field("v4.6.5", description="Mastodon release tag to deploy.")
    source: CodeSource = Field(default_factory=CodeSource)
    install: Install = Field(default_factory=Install)
    user: str = Field("mastodon", description="System user that owns and runs the application.")
    home: str = Field("/home/mastodon", description="Home of the application user.")
    single_user_mode: bool = Field(False, description="SINGLE_USER_MODE: one account, no sign-ups.")
    default_locale: str = Field("en", description="DEFAULT_LOCALE for visitors without a preference.")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="TRUSTED_PROXY_IP when lb/edge are not on private ranges."
    )
    extra_environment: dict[str, str] = Field(
        default_factory=dict, description="More .env.production keys; only keys Mastodon reads."
    )

    @field_validator("version")
    @classmethod
    def _plain_version(cls, version: str) -> str:
        return release_name(version, "version")

    @property
    def site_domain(self) -> str:
        return self.web_domain or self.local_domain

    # The trust boundary (docs/security.md): what the deploy, running as root, reads back about the
    # application lives where only root writes; the app user's home holds only code and data.

    @property
    def release_state_directory(self) -> str:
        """Root's record of the releases: `live` and `previous` (links to release directories), the
        steps each release finished, the streaming code live runs."""
        return RELEASE_STATE_DIRECTORY

    @property
    def live_directory(self) -> str:
        """A root-owned link to the release that serves: the units' working directory."""
        return f"{RELEASE_STATE_DIRECTORY}/live"

    @property
    def previous_link(self) -> str:
        """A root-owned link to the release `live` pointed at before the last switch (a rollback's target)."""
        return f"{RELEASE_STATE_DIRECTORY}/previous"

    @property
    def environment_file(self) -> str:
        """`.env.production`, shared by every release: root:<user>, 0640, in a directory only root writes."""
        return f"{CONFIGURATION_DIRECTORY}/env.production"

    @property
    def releases_directory(self) -> str:
        return f"{self.home}/releases"
