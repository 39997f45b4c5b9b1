"""Portable CPython runtimes (3.11 and 3.13), built for glibc 2.17 with zig, and what they hold.

The session fixture builds each once per cache (the user's ~/.cache/packager, which CI
keeps between runs): the first run pays the cold build (the libraries are built once for
both), later runs find them in the cache.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from packager.binary.elf import parse as parse_elf
from packager.binary.staticlib import diagnose_archive
from packager.core.context import Context
from packager.python.portable import BuildOptions, Runtime, build_runtime, parse_spec
from packager.python.portable.debian import GUI_LABEL
from packager.verify.roots import debian_root
from tests.helpers import CARGO_TARGET_DIR, REPO, SAMPLES, cargo_env, require_cargo
from tests.portable_helpers import built_runtime as _built
from tests.portable_helpers import elf_files as _elf_files
from tests.portable_helpers import objdump_floor as _objdump_floor
from tests.schemas import validate

pytestmark = pytest.mark.integration

FLOOR = (2, 17)
# auditwheel's manylinux2014 allowlist, less what a runtime never needs; libcrypt is left
# out of it on purpose (the runtime has no _crypt module).
ALLOWED_NEEDED = {
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
}
REQUIRED_MODULES = [
    *("ssl", "_hashlib", "sqlite3", "ctypes", "decimal", "lzma", "bz2", "zlib"),
    *("readline", "uuid", "_uuid", "curses", "_curses_panel", "pyexpat"),
]


def _env_without_unbuffered() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}


@pytest.fixture(scope="session", params=["3.11", "3.13"])
def runtime(request: pytest.FixtureRequest) -> Runtime:
    """Each runtime the tests cover, built once per cache."""
    return _built(request.param)


def _floor(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    major, minor = text.split(".")[:2]
    return (int(major), int(minor))


def test_every_elf_file_needs_at_most_glibc_2_17(runtime: Runtime) -> None:
    if shutil.which("objdump") is None:
        pytest.fail("objdump is needed to cross-check the floors: apt-get install binutils")
    files = list(_elf_files(runtime.prefix))
    dynload = [path for path in files if "lib-dynload" in path.parts]
    assert len(dynload) > 40, "lib-dynload is missing most extension modules"
    floors: dict[str, tuple[int, int] | None] = {}
    for path in files:
        if path.suffix == ".a" or path.suffix == ".o":
            continue
        report = parse_elf(str(path), path.read_bytes())[0]
        ours = _floor(report.glibc_floor)
        assert ours == _objdump_floor(path), f"{path}: packager and objdump disagree"
        floors[str(path)] = ours
    too_new = {path: floor for path, floor in floors.items() if floor and floor > FLOOR}
    assert too_new == {}
    assert floors[runtime.executable] is not None


def test_needed_libraries_are_within_the_manylinux_allowlist(runtime: Runtime) -> None:
    outside: dict[str, list[str]] = {}
    for path in _elf_files(runtime.prefix):
        if path.suffix in (".a", ".o"):
            continue
        needed = parse_elf(str(path), path.read_bytes())[0].needed
        own = f"libpython{runtime.short_version}.so.1.0"  # found through $ORIGIN/../lib
        extra = sorted(set(needed) - ALLOWED_NEEDED - {own})
        if extra:
            outside[str(path)] = extra
    assert outside == {}


def test_inspect_reports_the_floor_of_each_file(runtime: Runtime) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "packager", "inspect", "--json", runtime.prefix],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    binaries = document["binaries"]
    assert len(binaries) > 40
    floors = {_floor(binary["glibc_floor"]) for binary in binaries}
    assert max(floor for floor in floors if floor) <= FLOOR


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and its key, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command makes the test certificate: apt-get install openssl")
    directory = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        capture_output=True,
        check=True,
    )
    return cert, key


def test_the_stdlib_modules_import_and_tls_works(
    runtime: Runtime, tls_files: tuple[Path, Path]
) -> None:
    completed = _tls_check([runtime.executable], *tls_files, _env_without_unbuffered())
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == "imported " + " ".join(REQUIRED_MODULES)
    assert lines[1].startswith("tls TLSv1.3 OpenSSL 3.")
    assert lines[2] == "echo hello over tls"
    assert lines[3].startswith("sqlite 3.")
    assert lines[4] == "decimal 0.3333333333"


@pytest.fixture(scope="session")
def bullseye_root() -> Path:
    """The minbase bullseye root (glibc 2.31) that `bundle --verify-on` uses, made once per
    cache."""
    return Path(debian_root("bullseye", Context(environ=dict(os.environ))))


def _tls_check(
    python: list[str], cert: Path, key: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    script = (REPO / "tests" / "fixtures" / "tls_roundtrip.py").read_text()
    return subprocess.run(
        [*python, "-I", "-c", script, str(cert), str(key), *REQUIRED_MODULES],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_it_runs_on_debian_11_with_glibc_2_31(
    runtime: Runtime, bullseye_root: Path, tls_files: tuple[Path, Path]
) -> None:
    assert list(bullseye_root.glob("lib/x86_64-linux-gnu/libc-2.31.so")), "not a bullseye root"
    cert, key = tls_files
    # The shared root stays read-only: the folders the binds need are made on tmpfs mounts.
    tops = sorted({"/" + Path(p).parts[1] for p in (runtime.prefix, str(cert.parent))})
    sandbox = [
        *("bwrap", "--ro-bind", str(bullseye_root), "/", "--proc", "/proc", "--dev", "/dev"),
        *(arg for top in tops for arg in ("--tmpfs", top)),
        *("--ro-bind", runtime.prefix, runtime.prefix),
        *("--ro-bind", str(cert.parent), str(cert.parent)),
        *("--unshare-net", "--die-with-parent", "--clearenv"),
        runtime.executable,
    ]
    completed = _tls_check(sandbox, cert, key, {"PATH": "/usr/bin:/bin"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[1].startswith("tls TLSv1.3 ")
    probe = subprocess.run(
        [*sandbox, "-c", "import os; print(os.confstr('CS_GNU_LIBC_VERSION'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "glibc 2.31"


def test_the_runtime_is_a_shared_and_static_libpython_installation(runtime: Runtime) -> None:
    lib = Path(runtime.prefix, "lib")
    short = runtime.short_version
    assert (lib / f"libpython{short}.so.1.0").is_file()
    completed = subprocess.run(
        [
            runtime.executable,
            "-I",
            "-c",
            "import sysconfig; print(sysconfig.get_config_var('LIBPL'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    libpl = Path(completed.stdout.strip())
    assert libpl.parent.parent == lib  # lib/python3.X/config-3.X-x86_64-linux-gnu
    archive = diagnose_archive(libpl / f"libpython{short}.a")
    assert archive.pic is True and archive.lto is None
    assert (Path(runtime.prefix) / "include" / f"python{short}" / "Python.h").is_file()


def test_config_selects_the_runtime(runtime: Runtime) -> None:
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "packager", "config", "--json"),
            *("--python", f"runtime:{runtime.short_version}"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["interpreter"]["executable"] == runtime.executable
    assert document["interpreter"]["shared_library"] == os.path.join(
        runtime.prefix, "lib", f"libpython{runtime.short_version}.so.1.0"
    )
    text = document["config"]["text"]
    assert f"lib_dir={runtime.prefix}/lib\n" in text
    listed = subprocess.run(
        [sys.executable, "-m", "packager", "config", "--list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    sources = {entry["source"] for entry in json.loads(listed.stdout)["interpreters"]}
    assert runtime.selector in sources
    built = subprocess.run(
        [sys.executable, "-m", "packager", "runtime", "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    listing = json.loads(built.stdout)
    validate(listing, "runtime-v1.json")
    assert runtime.prefix in {entry["prefix"] for entry in listing["runtimes"]}


def test_a_second_build_request_is_served_from_the_cache(runtime: Runtime) -> None:
    spec = parse_spec(runtime.short_version, "2.17")
    result = build_runtime(BuildOptions(spec), Context(os.environ))
    assert result.cached and result.runtime.prefix == runtime.prefix
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "packager", "runtime", "build"),
            *("--python", spec.short_version, "--json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    validate(document, "runtime-v1.json")
    assert document["cached"] is True and document["prefix"] == runtime.prefix


def test_an_interrupted_build_leaves_nothing_behind(tmp_path: Path) -> None:
    """SIGTERM after the first library: no entry, no half libraries prefix, no work tree."""
    sources = Path(_built("3.11").prefix).parent / "sources"
    libraries = tmp_path / "libraries"  # every library's tarball in one folder, as given
    libraries.mkdir()
    for folder in (sources / "debian-bookworm-libraries", sources / f"debian-{GUI_LABEL}"):
        for tarball in folder.iterdir():
            (libraries / tarball.name).symlink_to(tarball)
    python = next((sources / "debian-bookworm-python3.11").glob("python3.11_*.orig.tar.*"))
    env = {**_env_without_unbuffered(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "packager", "runtime", "build", "--python", "3.11"]
    argv += ["--source", str(python), "--deps-source", str(libraries)]
    with subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        seen = ""
        while "building bzip2" not in seen:  # zlib is in the libraries' prefix by then
            line = process.stderr.readline()
            assert line, f"the build stopped before its second library:\n{seen}"
            seen += line
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        rest = process.stderr.read()
        assert process.wait(timeout=60) == 130
    assert "Traceback" not in rest
    root = tmp_path / "cache" / "packager" / "portable-runtimes"
    left = sorted(path.name for path in root.iterdir())
    assert not [name for name in left if name.startswith(("cpython-", ".building-"))]
    assert [path.name for path in (root / "deps").iterdir() if path.is_dir()] == []
    assert [path.name for path in (root / "work").iterdir() if path.is_dir()] == ["zig-cache"]
    assert list((root / "logs").rglob("zlib-install.log")), "the steps' logs are kept"


def test_a_bundle_takes_libpython_and_the_stdlib_from_the_runtime(tmp_path: Path) -> None:
    """`bundle --python runtime:3.11`: the app runs from the bundle with the runtime's parts."""
    runtime = _built("3.11")
    require_cargo()
    # Its own target directory: another interpreter's config would rebuild the suite's PyO3.
    environ = cargo_env(CARGO_TARGET_DIR=str(CARGO_TARGET_DIR.parent / "test-cargo-runtime"))
    environ.pop("PYTHONUNBUFFERED", None)
    out = tmp_path / "dist"
    out.mkdir()
    argv = [sys.executable, "-m", "packager", "bundle", str(SAMPLES / "hello")]
    argv += ["--python", "runtime:3.11", "--mode", "dynamic", "--out", str(out)]
    built = subprocess.run(argv, env=environ, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    shipped = out / "hello" / "lib" / "libpython3.11.so.1.0"  # stripped: not the same bytes
    assert Path(runtime.prefix, "lib", shipped.name).is_file()
    assert _floor(parse_elf(str(shipped), shipped.read_bytes())[0].glibc_floor) <= FLOOR
    ran = subprocess.run(
        [str(out / "hello" / "hello")], env=environ, capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("3.11.2 (main, Jan  1 1980")  # the runtime's build date
