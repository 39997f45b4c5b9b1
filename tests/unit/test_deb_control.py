"""A .deb's control fields, from the app's metadata."""

from __future__ import annotations

import dataclasses

from packager.crate.appmeta import MetadataOptions, read_metadata
from packager.outputs.deb import control_fields, control_text

META = read_metadata(None, "demo", version="1.0.0", flags=MetadataOptions())


def _fields(**changes: object) -> dict[str, str]:
    meta = dataclasses.replace(META, **changes)  # type: ignore[arg-type]
    fields = control_fields(
        "demo", meta, version="1.0.0", arch="x86_64", python_version="3.11.2",
        installed_kib=10, depends=["libc6 (>= 2.17)", "zlib1g"],
    )  # fmt: skip
    return dict(fields)


def test_the_first_author_is_the_maintainer() -> None:
    fields = _fields(authors=("Ada <ada@example.org>", "Bob <bob@example.org>"))
    assert fields["Maintainer"] == "Ada <ada@example.org>"


def test_without_authors_the_publisher_maintains_it() -> None:
    assert _fields(publisher="Example Ltd")["Maintainer"] == "Example Ltd"


def test_the_description_is_a_synopsis_and_an_extended_text() -> None:
    text = control_text(_fields(description="Says hi\nFirst line\n\nAfter a gap").items())
    assert text.endswith(
        "Description: Says hi\n First line\n .\n After a gap\n .\n"
        " Runs on its own Python 3.11.2 runtime, installed in /opt.\n"
    )


def test_homepage_and_licence_are_fields_and_left_out_when_unknown() -> None:
    given = _fields(homepage="https://example.org", license="MIT")
    assert (given["Homepage"], given["License"]) == ("https://example.org", "MIT")
    assert "Homepage:" not in control_text(_fields().items())
