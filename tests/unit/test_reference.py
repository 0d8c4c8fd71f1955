"""The README's configuration reference is the one `mastofleet reference` generates from the model."""

from __future__ import annotations

from mastofleet.views.reference import BEGIN, END, reference_markdown


def test_readme_reference_is_generated(repo) -> None:  # type: ignore[no-untyped-def]
    text = (repo / "README.md").read_text()
    written = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert written == reference_markdown(), "regenerate the README's reference with `mastofleet reference`"
