"""Which ELF files a bundle strips: never those a wheel tool repaired, never those asked."""

from __future__ import annotations

from packager.bundle.strip import repaired_by_a_wheel_tool, to_strip

SITE = "/b/app/lib/python3.11/site-packages"


def test_libraries_auditwheel_grafted_are_recognised() -> None:
    assert repaired_by_a_wheel_tool("site-packages/numpy.libs/libopenblas64_p-r0-0cf96a72.so")
    assert repaired_by_a_wheel_tool("site-packages/scipy.libs/libgfortran-040039e1.so.5.0.0")
    assert repaired_by_a_wheel_tool("site-packages/pkg/libfoo-0a1b2c3d.so")
    assert not repaired_by_a_wheel_tool("site-packages/markupsafe/_speedups.cpython-311.so")
    assert not repaired_by_a_wheel_tool("lib/libpython3.11.so.1.0")
    assert not repaired_by_a_wheel_tool("site-packages/pkg/libfoo-deadbeefcafe.so")


def test_files_to_strip_leave_out_repaired_and_matching_files() -> None:
    files = [
        f"{SITE}/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
        f"{SITE}/numpy.libs/libopenblas64_p-r0-0cf96a72.so",
        f"{SITE}/lxml/etree.cpython-311-x86_64-linux-gnu.so",
        "/b/app/bin/app",
    ]
    assert to_strip(files, "/b/app") == [files[0], files[2], files[3]]
    kept = to_strip(files, "/b/app", ["lib/python3.11/site-packages/lxml/*", "app"])
    assert kept == [files[0]]
