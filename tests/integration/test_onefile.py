"""`packager bundle --onefile`: one static executable that imports its modules in place.

The samples are built statically against Debian's /usr/bin/python3.11 with real cargo, then
the result runs in a bubblewrap sandbox where no Python is visible, TMPDIR is empty and
read-only, and the rest of the file system is read-only too (so nothing can be extracted
anywhere). tests/unit/test_onefile.py covers what needs no build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from packager.binary.onefile_payload import (
    FORMAT_VERSION,
    read_payload,
)
from packager.bundle import (
    BundleRequest,
    ContentOptions,
    ObtainOptions,
    OnefileOptions,
    bundle,
)
from packager.bundle.onefile.builder import OnefileResult
from packager.bundle.onefile.extensions import Placement
from packager.core.context import Context
from packager.verify.sandbox import SANDBOX_AREA, sandbox_argv
from tests.helpers import SAMPLES, cargo_env, run_packager
from tests.onefile_tamper import (
    flip_bit,
    member_span,
    patched_slot,
    replaced_in_member,
    slot_of,
    table_flags_cleared,
    with_comment,
)

DEBIAN_PYTHON = "/usr/bin/python3.11"
Damage = Callable[[bytes], bytes]
EPOCH = "1700000000"
DAMAGED = "packager: the bundled Python payload is damaged: "
HELLO_LINES = ["hello, packager, from Rust", "2 + 3 = 5"]
EXTMODS = ("_decimal", "_ctypes", "_json", "markupsafe._speedups")


# -- integration: real static builds, run where no Python is visible ---------------


def _require_tools() -> None:
    for tool in ("cargo", "bwrap", "strip"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed")
    if not os.path.exists(DEBIAN_PYTHON):
        pytest.fail(f"{DEBIAN_PYTHON} (a static-capable Debian Python) is not installed")


_ONEFILE_FIELDS = {"only_needed", "scripts", "include", "site_dirs", "compress", "library_cache"}


def build_onefile(
    source: str, *, environ: dict[str, str], out: str, python: str | None = None, **options: Any
) -> OnefileResult:
    """Run the bundle pipeline with --onefile, writing `out`."""
    onefile = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    request = BundleRequest(
        source,
        out_dir=os.path.dirname(out),
        name=os.path.basename(out),
        obtain=ObtainOptions(python=python),
        content=ContentOptions(**{k: v for k, v in onefile.items() if k not in _ONEFILE_FIELDS}),
        onefile=True,
        onefile_options=OnefileOptions(
            **{k: v for k, v in onefile.items() if k in _ONEFILE_FIELDS}
        ),
    )
    result = bundle(request, Context(environ=environ)).onefile
    assert result is not None
    return result


def _build(crate: str, out: Path, **options: Any) -> OnefileResult:
    return build_onefile(
        str(SAMPLES / crate),
        environ=cargo_env(SOURCE_DATE_EPOCH=EPOCH),
        out=str(out),
        python=DEBIAN_PYTHON,
        **options,
    )


@pytest.fixture(scope="module")
def hello_onefile(tmp_path_factory: pytest.TempPathFactory) -> OnefileResult:
    _require_tools()
    return _build("hello", tmp_path_factory.mktemp("onefile") / "hello")


@pytest.fixture(scope="module")
def extmods_onefile(
    tmp_path_factory: pytest.TempPathFactory, markupsafe_site: Path
) -> OnefileResult:
    _require_tools()
    out = tmp_path_factory.mktemp("onefile") / "extmods"
    return _build("extmods", out, site_dirs=[str(markupsafe_site)])


@pytest.fixture(scope="module")
def hello_stored(tmp_path_factory: pytest.TempPathFactory) -> OnefileResult:
    """hello with only the modules it imports, stored (not deflated) in the archive."""
    _require_tools()
    out = tmp_path_factory.mktemp("onefile") / "hello"
    return _build("hello", out, only_needed=True, compress=False)


def run_sandboxed(
    program: Path,
    script: str,
    tmp_path: Path,
    *,
    extra_env: dict[str, str] | None = None,
    beside: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `sh -c script` with $P naming a copy of `program` at "<area>/app dir/<name>".

    The area also holds `link` (a relative symlink to the copy) and the files of `beside`
    next to the copy. No Python is visible, TMPDIR is an empty read-only directory, and
    /tmp (HOME) and the area are read-only.
    """
    area = tmp_path / "area"
    (area / "app dir").mkdir(parents=True)
    shutil.copy2(program, area / "app dir" / program.name)
    if beside is not None:
        shutil.copytree(beside, area / "app dir", dirs_exist_ok=True)
    (area / "link").symlink_to(f"app dir/{program.name}")
    empty = tmp_path / "empty-tmp"
    empty.mkdir()
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    env = {"TMPDIR": "/tmp/empty-tmp", "PYTHONHOME": "/nonexistent"}
    env |= {"PYTHONPATH": "/nonexistent", "P": f"{SANDBOX_AREA}/app dir/{program.name}"}
    argv, hidden = sandbox_argv(shutil.which("bwrap") or "bwrap", str(area), environ, env)
    assert any(path.startswith("/usr/lib/python3") for path in hidden)
    argv += ["--ro-bind", str(empty), "/tmp/empty-tmp", "--remount-ro", "/tmp"]
    argv += ["--remount-ro", SANDBOX_AREA]
    completed = subprocess.run(
        [*argv, "sh", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert list(empty.iterdir()) == []
    return completed


def test_hello_runs_with_no_python_from_any_path(
    hello_onefile: OnefileResult, tmp_path: Path
) -> None:
    script = (
        'python3 -c pass 2>/dev/null && echo "python is visible"; '
        '"$P" && cd / && "/tmp/packager verify/link" && cd "/tmp/packager verify" '
        '&& "./app dir/hello" && ./link'
    )
    completed = run_sandboxed(Path(hello_onefile.path), script, tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "python is visible" not in completed.stdout
    lines = completed.stdout.splitlines()
    assert len(lines) == 16, completed.stdout
    for run in range(4):
        version, as_json, *rest = lines[run * 4 : run * 4 + 4]
        assert version.startswith("3.11.2 ")
        assert as_json == '{"hello": "world", "version": [3, 11, 2]}'
        assert rest == HELLO_LINES


def test_extmods_import_compiled_modules_from_inside_the_file(
    extmods_onefile: OnefileResult, tmp_path: Path
) -> None:
    completed = run_sandboxed(Path(extmods_onefile.path), '"$P"', tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    origins = {
        line.split()[1]: line.split(" from ", 1)[1]
        for line in completed.stdout.splitlines()
        if line.startswith("imported ")
    }
    inside = f"{SANDBOX_AREA}/app dir/extmods/"
    for name in ("_decimal", "_ctypes", "_json"):
        assert origins[name].startswith(inside + "lib-dynload/" + name + "."), origins[name]
    assert origins["markupsafe._speedups"].startswith(inside + "site-packages/markupsafe/")
    from_memory = {plan.name for plan in extmods_onefile.placed(Placement.MEMORY)}
    assert set(EXTMODS) <= from_memory
    assert extmods_onefile.placed(Placement.IMPOSSIBLE) == ()
    ctypes_plan = next(p for p in extmods_onefile.extensions if p.name == "_ctypes")
    assert "system-libs/libffi.so.8" in ctypes_plan.libraries  # carried, loaded first


def test_inspect_reads_what_the_file_carries(hello_onefile: OnefileResult) -> None:
    payload = read_payload(hello_onefile.path)
    assert payload is not None and payload.problem is None
    assert (payload.python_version, payload.entry) == ("3.11.2", "hello")
    assert payload.archive_size == hello_onefile.archive_size
    assert payload.executable_size == hello_onefile.executable_size
    with zipfile.ZipFile(hello_onefile.path) as archive:
        names = set(archive.namelist())
    assert {"_packager_boot.pyc", "encodings/__init__.pyc", "json/decoder.pyc"} <= names
    assert not any(name.endswith(".py") for name in names)
    assert not any(
        name.startswith(("test/", "idlelib/", "tkinter/", "ensurepip/")) for name in names
    )
    done = run_packager("inspect", "--json", hello_onefile.path)
    assert done.returncode == 0, done.stderr
    (binary,) = json.loads(done.stdout)["binaries"]
    assert binary["link_mode"] == "static"
    assert binary["payload"]["python_version"] == "3.11.2"
    assert binary["payload"]["archive_size"] == hello_onefile.archive_size
    assert binary["payload"]["problem"] is None
    assert run_packager("check", hello_onefile.path).returncode == 0


def test_same_inputs_give_the_same_bytes(hello_onefile: OnefileResult, tmp_path: Path) -> None:
    again = build_onefile(
        str(SAMPLES / "hello"),
        environ=cargo_env(SOURCE_DATE_EPOCH=EPOCH),
        out=str(tmp_path / "hello"),
        python=DEBIAN_PYTHON,
    )
    assert again.sha256 == hello_onefile.sha256


def _damaged_copy(source: str, tmp_path: Path, damage: Damage) -> Path:
    data = Path(source).read_bytes()
    copy = tmp_path / "damaged"
    copy.write_bytes(damage(data))
    copy.chmod(0o755)
    return copy


def _run(program: Path) -> subprocess.CompletedProcess[str]:
    """Run `program` as on its first start: no copies of its compiled modules in the cache
    (a copy made from an intact member would be loaded instead of a damaged member)."""
    environ = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    environ["XDG_CACHE_HOME"] = str(program.parent / "first-start-cache")
    return subprocess.run(
        [str(program)], capture_output=True, text=True, timeout=60, check=False, env=environ
    )


def _refused(program: Path) -> tuple[str, str]:
    """(the program's reason, check's PKG110 message) for a file both must refuse."""
    completed = _run(program)
    assert completed.returncode == 70, completed.stdout + completed.stderr
    assert completed.stderr.startswith(DAMAGED), completed.stderr
    payload = read_payload(str(program))
    assert payload is not None and payload.problem is not None
    checked = run_packager("check", "--json", str(program))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    (finding,) = json.loads(checked.stdout)["binaries"][0]["findings"]
    assert finding["code"] == "PKG110"
    assert payload.problem in finding["message"]
    return completed.stderr.removeprefix(DAMAGED), finding["message"]


@pytest.mark.parametrize(
    ("damage", "reason", "problem"),
    [
        (lambda data: data[:-1000], "truncated", "truncated"),
        (lambda data: data[: len(data) - 2_000_000], "truncated", "truncated"),
        (lambda data: data + b"\0" * 4096, "appended to", "appended to"),
        (
            lambda data: data[:-300] + bytes([data[-300] ^ 0xFF]) + data[-299:],
            "table of contents",
            "table of contents",
        ),
        (
            lambda data: patched_slot(data, table_offset=slot_of(data).payload_offset),
            "layout record is inconsistent",
            "layout record is inconsistent",
        ),
        (
            lambda data: patched_slot(data, table_offset=slot_of(data).table_offset + 32),
            "layout record is inconsistent",
            "layout record is inconsistent",
        ),
        (
            lambda data: patched_slot(data, format=7),
            f"its payload is format 7, but this program reads format {FORMAT_VERSION}",
            "payload format 7 is not one this packager knows",
        ),
        (
            lambda data: patched_slot(data, format=1),
            f"its payload is format 1, but this program reads format {FORMAT_VERSION}",
            "payload format 1 was written by an older packager",
        ),
    ],
    ids=[
        "tail-cut",
        "archive-halved",
        "appended",
        "directory-byte",
        "table-offset-small",
        "table-offset-shifted",
        "format-unknown",
        "format-old",
    ],
)
def test_damaged_file_says_so_instead_of_crashing(
    hello_onefile: OnefileResult,
    tmp_path: Path,
    damage: Damage,
    reason: str,
    problem: str,
) -> None:
    copy = _damaged_copy(hello_onefile.path, tmp_path, damage)
    refused, finding = _refused(copy)
    assert reason in refused
    assert problem in finding


@pytest.mark.parametrize(
    "member",
    [
        "_packager_boot.pyc",
        "encodings/__init__.pyc",
        "encodings/utf_8.pyc",
        "json/decoder.pyc",
        "lib-dynload/_json.cpython-311-x86_64-linux-gnu.so",
    ],
)
def test_altered_module_stops_the_program_and_check_names_it(
    hello_onefile: OnefileResult, tmp_path: Path, member: str
) -> None:
    # Deflated members: before, most flips ran or ended in a zlib.error traceback.
    data = Path(hello_onefile.path).read_bytes()
    start, end = member_span(data, member)
    mismatch = f"{member} does not match the hash written when it was built"
    for offset, bit in ((start, 0), ((start + end) // 2, 5), (end - 1, 7)):
        copy = _damaged_copy(
            hello_onefile.path, tmp_path, partial(flip_bit, offset=offset, bit=bit)
        )
        refused, finding = _refused(copy)
        assert refused == f"{copy}: {mismatch}; copy or download the file again\n"
        assert f"damaged: {mismatch}" in finding


def test_edited_stored_module_does_not_run(hello_stored: OnefileResult, tmp_path: Path) -> None:
    # json.dumps's ": " between a key and its value becomes "= " in the stored .pyc.
    def edited(data: bytes) -> bytes:
        return replaced_in_member(data, "json/encoder.pyc", b"z\x02: ", b"z\x02= ")

    copy = _damaged_copy(hello_stored.path, tmp_path, edited)
    refused, finding = _refused(copy)
    assert "json/encoder.pyc does not match the hash written when it was built" in refused
    assert "json/encoder.pyc does not match the hash written when it was built" in finding
    assert '"hello"= ' not in _run(copy).stdout


def test_module_python_reads_before_the_boot_module_is_checked_even_unflagged(
    hello_stored: OnefileResult, tmp_path: Path
) -> None:
    # Should a Python import more than the flagged members before the boot module, the
    # boot module checks them first thing. Here: aliases unflagged, its docstring edited
    # (the module still imports), the table resealed.
    member = "encodings/aliases.pyc"

    def edited(data: bytes) -> bytes:
        return table_flags_cleared(replaced_in_member(data, member, b"Aliases", b"aliases"), member)

    copy = _damaged_copy(hello_stored.path, tmp_path, edited)
    refused, finding = _refused(copy)
    assert f"{member} does not match the hash written when it was built" in refused
    assert f"{member} does not match the hash written when it was built" in finding


@pytest.mark.parametrize(
    "extensions", [b"\xc2\xb2", b"1" + b"0" * 5000], ids=["unicode-digit", "huge-number"]
)
def test_altered_description_is_refused_by_both(
    hello_onefile: OnefileResult, tmp_path: Path, extensions: bytes
) -> None:
    data = Path(hello_onefile.path).read_bytes()
    end = data.rindex(b"PK\x05\x06")
    comment, replaced = re.subn(
        rb"\nextensions [0-9]+\n", b"\nextensions " + extensions + b"\n", data[end + 22 :]
    )
    assert replaced == 1
    copy = _damaged_copy(hello_onefile.path, tmp_path, lambda d: with_comment(d, comment))
    refused, finding = _refused(copy)
    assert "the payload description's line" in refused and "is malformed" in refused
    assert "the payload description's line 'extensions " in finding


def test_damaged_extension_module_stops_the_import_with_the_reason(
    extmods_onefile: OnefileResult, tmp_path: Path
) -> None:
    with zipfile.ZipFile(extmods_onefile.path) as archive:
        member = next(n for n in archive.namelist() if n.startswith("lib-dynload/_decimal"))
    data = Path(extmods_onefile.path).read_bytes()
    start, end = member_span(data, member)
    copy = _damaged_copy(extmods_onefile.path, tmp_path, lambda d: flip_bit(d, (start + end) // 2))
    refused, finding = _refused(copy)
    assert refused.startswith(f"{copy}: {member} does not match the hash")
    assert f"{member} does not match the hash" in finding


# -- keeping only the modules the program imports ----------------------------------


def test_only_needed_modules_start_as_fast_as_they_can(
    hello_stored: OnefileResult, tmp_path: Path
) -> None:
    with zipfile.ZipFile(hello_stored.path) as archive:
        infos = archive.infolist()
    names = {info.filename for info in infos}
    assert {"json/decoder.pyc", "re/_parser.pyc", "encodings/utf_8.pyc"} <= names
    assert not any(name.startswith(("asyncio/", "email/", "unittest/")) for name in names)
    assert all(info.compress_type == zipfile.ZIP_STORED for info in infos)
    assert [plan.name for plan in hello_stored.extensions] == ["_json"]
    completed = run_sandboxed(Path(hello_stored.path), '"$P"', tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[2:] == HELLO_LINES
