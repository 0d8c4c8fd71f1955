"""docs/configuration.md holds the configuration reference that `mastofleet reference` generates from the model."""

from __future__ import annotations

from mastofleet.views.reference import BEGIN, END, reference_markdown


def test_configuration_reference_is_generated(repo) -> None:  # type: ignore[no-untyped-def]
    text = (repo / "docs" / "configuration.md").read_text()
    written = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert written == reference_markdown(), "regenerate docs/configuration.md's reference with `mastofleet reference`"
