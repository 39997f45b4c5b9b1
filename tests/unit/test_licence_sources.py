"""Where a bundle's licence texts are found: a target root's dpkg database and doc
folders, a distribution's .dist-info, and which shipped files a notice covers."""

from __future__ import annotations

import os
from pathlib import Path

from packager.bundle.licence_sources import debian_copyright, debian_owners, distributions
from packager.bundle.licences import Notice, unlicensed

LIBSSL = "usr/lib/aarch64-linux-gnu/libssl.so.3"


def _root(tmp_path: Path) -> Path:
    """A target root as debootstrap leaves it: merged /usr, a .list per package, and a
    doc folder that is a link to another package's (as Debian's libpython3.X ones are)."""
    root = tmp_path / "root"
    (root / "usr/lib/aarch64-linux-gnu").mkdir(parents=True)
    (root / "lib").symlink_to("usr/lib")
    (root / LIBSSL).write_bytes(b"\x7fELF")
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (info / "libssl3:arm64.list").write_text(f"/.\n/usr\n/{LIBSSL}\n")
    docs = root / "usr/share/doc"
    (docs / "openssl-doc").mkdir(parents=True)
    (docs / "openssl-doc/copyright").write_text("OpenSSL's licence\n")
    (docs / "libssl3").symlink_to("openssl-doc")
    return root


def test_a_target_roots_database_names_the_package_of_a_file_reached_through_lib(
    tmp_path: Path,
) -> None:
    root = _root(tmp_path)
    through_lib = str(root / "lib/aarch64-linux-gnu/libssl.so.3")
    assert debian_owners([through_lib], str(root), {}) == {through_lib: "libssl3"}


def test_a_doc_folder_link_is_followed_inside_the_root(tmp_path: Path) -> None:
    root = _root(tmp_path)
    found = debian_copyright("libssl3", str(root))
    assert found is not None and Path(found).read_text() == "OpenSSL's licence\n"


def test_an_absolute_doc_folder_link_stays_inside_the_root(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "usr/share/doc/libssl3").unlink()
    (root / "usr/share/doc/libssl3").symlink_to("/usr/share/doc/openssl-doc")
    found = debian_copyright("libssl3", str(root))
    assert found == os.path.join(os.path.realpath(root), "usr/share/doc/openssl-doc/copyright")


def test_a_distribution_brings_its_pep_639_licence_files_and_what_it_installed(
    tmp_path: Path,
) -> None:
    info = tmp_path / "demo-1.0.dist-info"
    (info / "licenses" / "vendored").mkdir(parents=True)
    (info / "licenses" / "LICENSE").write_text("MIT\n")
    (info / "licenses" / "vendored" / "COPYING").write_text("BSD\n")
    (info / "METADATA").write_text("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n"
                                   "License-Expression: MIT AND BSD-3-Clause\n")  # fmt: skip
    (info / "RECORD").write_text("demo/__init__.py,,\ndemo.libs/libx.so,,\n../../bin/demo,,\n")
    (dist,) = distributions(str(tmp_path))
    texts = sorted(os.path.relpath(text, info) for text in dist.texts)
    assert (dist.licence, texts, dist.top_level) == (
        "MIT AND BSD-3-Clause",
        ["licenses/LICENSE", "licenses/vendored/COPYING"],
        ("demo-1.0.dist-info/", "demo.libs/", "demo/"),
    )


def test_a_library_covered_by_a_notice_without_text_is_unlicensed(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    for name in ("libknown.so.1", "libunknown.so.1"):
        (tmp_path / "lib" / name).write_bytes(b"\x7fELF\x02\x01\x01" + bytes(57))
    notices = [
        Notice("known", ("lib/libknown.so.1",), texts=("/dev/null",)),
        Notice("libunknown.so.1", ("lib/libunknown.so.1",)),
    ]
    assert unlicensed(str(tmp_path), notices, "bin/app") == ["lib/libunknown.so.1"]


def _host_query(cache: Path) -> dict[str, str]:
    environ = {"PATH": os.environ["PATH"], "XDG_CACHE_HOME": str(cache)}
    return debian_owners(["/usr/bin/dpkg"], "/", environ)


def test_the_hosts_answer_is_kept_until_dpkgs_database_changes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _host_query(cache)
    [record] = (cache / "packager" / "dpkg-query").glob("*.json")
    record.write_text('"read-from-the-cache: /usr/bin/dpkg\\n"')
    assert (first, _host_query(cache)) == (
        {"/usr/bin/dpkg": "dpkg"},
        {"/usr/bin/dpkg": "read-from-the-cache"},
    )
