"""An app that leans on the system-library modules, shipped in every Linux output and run
over minimal Debian roots made by debootstrap (nothing installed into them).

The app (tests/crates/cwdscript, running the python_program.py of its working directory,
the bundle's app/ folder) does a real TLS handshake with itself over loopback, queries
sqlite3, calls libc through ctypes, and round-trips data through lzma, bz2 and zlib:
each needs a library that a minimal system may not have, so the bundle must carry it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from packager.binary.floor import version_key
from packager.bundle import (
    BundleFormat,
    BundleRequest,
    BundleRun,
    ContentOptions,
    ObtainOptions,
    bundle,
    verify_bundle,
)
from packager.core.context import Context
from packager.core.errors import FloorError
from packager.verify.roots import DEBIAN_RELEASES, debian_root
from tests.helpers import REPO, cargo_env

pytestmark = pytest.mark.integration

CWDSCRIPT = str(REPO / "tests" / "crates" / "cwdscript")
DEBIAN_PYTHON = "/usr/bin/python3.11"
TREE_FORMATS = (BundleFormat.DIR, BundleFormat.TAR_ZST, BundleFormat.INSTALLER)

APP = """\
import bz2, ctypes, decimal, lzma, readline, socket, sqlite3, ssl, threading, zlib

data = b"packager ships python " * 500
codecs = {"lzma": lzma, "bz2": bz2, "zlib": zlib}
print("codecs", all(m.decompress(m.compress(data)) == data for m in codecs.values()))
db = sqlite3.connect(":memory:")
db.execute("create table t(x)")
db.executemany("insert into t values (?)", [(n,) for n in range(10)])
print("sqlite", db.execute("select sum(x) from t").fetchone()[0])
print("ctypes", ctypes.CDLL(None).abs(-7))
print("decimal", decimal.Decimal("1.10") + decimal.Decimal("2.20"))
print("readline", callable(readline.parse_and_bind))

server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server.load_cert_chain("cert.pem", "key.pem")
listener = socket.create_server(("127.0.0.1", 0))


def serve():
    connection, _ = listener.accept()
    with server.wrap_socket(connection, server_side=True) as tls:
        tls.sendall(tls.recv(64).upper())


threading.Thread(target=serve, daemon=True).start()
client = ssl.create_default_context(cafile="cert.pem")
with socket.create_connection(listener.getsockname()) as raw:
    with client.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"ping")
        print("tls", tls.version(), tls.recv(64).decode())
"""
EXPECTED = [
    "codecs True",
    "sqlite 45",
    "ctypes 7",
    "decimal 3.30",
    "readline True",
    "tls TLSv1.3 PING",
]


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's folder: the script and a self-signed certificate for localhost."""
    return write_app(tmp_path_factory.mktemp("app"))


def write_app(app: Path) -> Path:
    """Write the app's script and a self-signed certificate for localhost into `app`."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed")
    (app / "python_program.py").write_text(APP, encoding="utf-8")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(app / "key.pem"), "-out", str(app / "cert.pem"), "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return app


def _root(release: str) -> str:
    return debian_root(release, Context(environ=dict(os.environ)))


def _bundle(out: Path, app_dir: Path, **request: object) -> BundleRun:
    for tool in ("cargo", "bwrap", "patchelf"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed")
    request = {"content": ContentOptions(app_dir=str(app_dir)), **request}
    full = BundleRequest(CWDSCRIPT, out_dir=str(out), **request)  # type: ignore[arg-type]
    return bundle(full, Context(environ=cargo_env()))


@pytest.fixture(scope="module")
def tree_run(tmp_path_factory: pytest.TempPathFactory, app_dir: Path) -> BundleRun:
    out = tmp_path_factory.mktemp("floor-apps")
    return _bundle(
        out,
        app_dir,
        obtain=ObtainOptions(mode="dynamic", python=DEBIAN_PYTHON),
        formats=TREE_FORMATS,
        workdir="app",
    )


@pytest.fixture(scope="module")
def onefile_run(tmp_path_factory: pytest.TempPathFactory, app_dir: Path) -> BundleRun:
    out = tmp_path_factory.mktemp("floor-onefile")
    return _bundle(out, app_dir, obtain=ObtainOptions(python=DEBIAN_PYTHON), onefile=True)


def app_lines(result_stdout: str) -> list[str]:
    return [line for line in result_stdout.splitlines() if line.split(" ")[0] in _WORDS]


_WORDS = {line.split(" ")[0] for line in EXPECTED}


@pytest.mark.parametrize("fmt", TREE_FORMATS, ids=lambda f: f.value)
def test_each_tree_output_runs_the_app_over_a_minimal_bookworm(
    tree_run: BundleRun, fmt: BundleFormat
) -> None:
    assert tree_run.manifest is not None
    floor = tree_run.manifest.glibc_floor or "0"
    if version_key(floor) > version_key(DEBIAN_RELEASES["bookworm"]):
        pytest.fail("this test needs a Debian 12 host: its runtime is newer than bookworm's glibc")
    (subject,) = (o.path for o in tree_run.manifest.outputs if o.format is fmt)
    result = verify_bundle(subject, environ=cargo_env(), root=_root("bookworm"))
    assert result.ok, (result.stdout, result.stderr)
    assert app_lines(result.stdout) == EXPECTED, result.stdout + result.stderr


def test_the_onefile_program_runs_the_app_over_a_minimal_bookworm(
    onefile_run: BundleRun, app_dir: Path
) -> None:
    assert onefile_run.onefile is not None
    result = verify_bundle(
        onefile_run.onefile.path, environ=cargo_env(), root=_root("bookworm"), cwd=str(app_dir)
    )
    assert result.ok, (result.stdout, result.stderr)
    assert app_lines(result.stdout) == EXPECTED, result.stdout + result.stderr


@pytest.mark.parametrize("onefile", [False, True], ids=["tree", "onefile"])
def test_over_bullseye_debians_python_is_refused_before_anything_is_written(
    tmp_path: Path, app_dir: Path, onefile: bool
) -> None:
    # Debian 12's libpython needs glibc 2.32 or later; the portable-runtime tests run
    # the same kind of app over bullseye.
    out = tmp_path / "out"
    options: dict[str, object] = {"verify_on": ("bullseye",), "onefile": onefile}
    if onefile:
        options["obtain"] = ObtainOptions(python=DEBIAN_PYTHON)
    else:
        options |= {
            "obtain": ObtainOptions(mode="dynamic", python=DEBIAN_PYTHON),
            "formats": TREE_FORMATS,
            "workdir": "app",
        }
    with pytest.raises(FloorError, match=r"bullseye has glibc 2\.31"):
        _bundle(out, app_dir, **options)
    assert not out.exists() or os.listdir(out) == []


SCIENCE_APP = """\
import numpy as np
from PIL import Image
from cryptography.fernet import Fernet

a = np.arange(12.0).reshape(3, 4)
print("numpy", round(float(np.linalg.norm(a @ a.T)), 3), np.linalg.inv(np.eye(3) * 2)[0, 0])
image = Image.new("RGB", (8, 8), (10, 20, 30)).resize((4, 4))
print("pillow", image.getpixel((1, 1)))
key = Fernet(Fernet.generate_key())
print("cryptography", key.decrypt(key.encrypt(b"secret")).decode())
"""


def _record_hashes(site: Path, package: str) -> dict[str, str]:
    """{path: sha256 (urlsafe base64)} from the RECORD of `package`'s .dist-info."""
    (record,) = site.glob(f"{package}-*.dist-info/RECORD")
    hashes = {}
    for line in record.read_text(encoding="utf-8").splitlines():
        path, digest, _ = line.rsplit(",", 2)
        if digest.startswith("sha256="):
            hashes[path] = digest.removeprefix("sha256=")
    return hashes


def test_numpy_pillow_and_cryptography_run_from_a_folder_over_a_minimal_bookworm(
    tmp_path: Path,
) -> None:
    import base64
    import hashlib

    app = tmp_path / "app"
    app.mkdir()
    (app / "python_program.py").write_text(SCIENCE_APP, encoding="utf-8")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy\npillow\ncryptography\n", encoding="utf-8")
    run = _bundle(
        tmp_path / "out",
        app,
        obtain=ObtainOptions(mode="dynamic", python=DEBIAN_PYTHON),
        content=ContentOptions(app_dir=str(app), requirements=str(requirements)),
        workdir="app",
    )
    assert run.manifest is not None
    (folder,) = (Path(o.path) for o in run.manifest.outputs if o.format is BundleFormat.DIR)
    result = verify_bundle(str(folder), environ=cargo_env(), root=_root("bookworm"))
    assert result.ok, (result.stdout, result.stderr)
    assert result.stdout.splitlines()[-3:] == [
        "numpy 502.191 0.5",
        "pillow (10, 20, 30)",
        "cryptography secret",
    ]
    # Stripping by default left OpenBLAS as its wheel has it: byte for byte, per RECORD.
    (site,) = folder.glob("lib/python3*/*-packages")  # dist-packages for Debian's Python
    recorded = _record_hashes(site, "numpy")
    (blas,) = site.glob("numpy.libs/libscipy_openblas*")
    digest = base64.urlsafe_b64encode(hashlib.sha256(blas.read_bytes()).digest()).rstrip(b"=")
    assert recorded[str(blas.relative_to(site))] == digest.decode()
