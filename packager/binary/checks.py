"""`check`: rules over inspect reports, each producing findings with a stable code.

| code   | severity | rule |
|--------|----------|------|
| PKG101 | error    | static embed whose Python symbols are not exported |
| PKG102 | error    | libpython dependency does not resolve |
| PKG103 | warning  | another needed library does not resolve |
| PKG104 | error    | empty or relative rpath entry (current-directory library hijack) |
| PKG105 | warning  | absolute rpath outside the binary's own tree |
| PKG106 | error    | extension module links libpython |
| PKG107 | error    | Mach-O loads @rpath/...Python... but has no LC_RPATH |
| PKG108 | error    | PE imports a python DLL that is not beside it |
| PKG109 | error    | expected module has no PyInit_<name> |
| PKG110 | error    | onefile executable whose module archive is damaged |
| PKG111 | error    | with a glibc floor: a symbol version above it |
| PKG112 | error    | with a glibc floor: a library outside the allowlist, not in its tree |
| PKG113 | error    | ELF PT_LOAD segment whose offset and address disagree modulo p_align |
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence

from packager.binary.floor import floor_findings, inside, own_tree
from packager.binary.model import (
    BinaryFormat,
    BinaryKind,
    BinaryReport,
    Finding,
    InspectResult,
    LinkMode,
    Severity,
)

# What a typical compiled extension module needs from its host; if a static embed does not
# export these, `import _decimal` & co fail with "undefined symbol".
EXTENSION_API_SYMBOLS = ("PyModuleDef_Init", "PyModule_Create2", "PyArg_ParseTuple", "PyTuple_Type")

Rule = Callable[[BinaryReport], Iterable[Finding]]

# The start of an ELF rpath entry the loader expands to the binary's own directory: a
# name character after "$ORIGIN" makes another (unknown) variable, which stays literal.
_ORIGIN = re.compile(r"\$ORIGIN(?![A-Za-z0-9_])|\$\{ORIGIN\}")


def check_result(
    result: InspectResult,
    *,
    expect_modules: Sequence[str] = (),
    glibc: str | None = None,
    roots: Sequence[str] = (),
) -> InspectResult:
    """Run every rule on every report of `result` and attach the findings.

    With `glibc`, each ELF file must also run on that glibc with nothing but the manylinux
    allowlist from the system; a file's tree is the first of `roots` holding it.
    """
    rules: list[Rule] = [*_RULES, _expect_modules_rule(expect_modules, roots)]
    if glibc is not None:
        rules.append(lambda report: floor_findings(report, glibc, own_tree(report.path, roots)))
    checked = tuple(
        report._replace(findings=tuple(f for rule in rules for f in rule(report)))
        for report in result.binaries
    )
    return result._replace(binaries=checked)


def worst_severity(result: InspectResult) -> Severity | None:
    """The most severe finding in `result`, or None when there is none."""
    severities = [f.severity for report in result.binaries for f in report.findings]
    return max(severities, key=lambda s: s.rank, default=None)


def _finding(
    report: BinaryReport, code: str, severity: Severity, message: str, fix: str
) -> Finding:
    return Finding(code=code, severity=severity, path=report.path, message=message, fix=fix)


def _unexported_static_embed(report: BinaryReport) -> Iterable[Finding]:
    if report.link_mode is not LinkMode.STATIC or report.kind is not BinaryKind.EXECUTABLE:
        return
    if report.format is BinaryFormat.PE:
        return  # Windows extension modules link pythonXY.dll, never the host executable
    missing = [name for name in EXTENSION_API_SYMBOLS if name not in report.symbols.exported]
    if missing:
        yield _finding(
            report,
            "PKG101",
            Severity.ERROR,
            f"the embedded interpreter does not export its C API ({len(report.symbols.exported)} "
            f"Py* symbols exported, {', '.join(missing)} missing): compiled extension modules "
            "will fail with 'undefined symbol: Py...'",
            "link with -Wl,--export-dynamic and the whole libpython archive "
            "(`packager build --mode static` does both)",
        )


def _unresolved_libraries(report: BinaryReport) -> Iterable[Finding]:
    libpython = report.libpython
    for library in report.needed:
        if library.resolved_path is not None or library.system:
            continue
        if libpython is not None and library.name == libpython.name:
            if report.format is BinaryFormat.PE and report.kind is BinaryKind.EXTENSION_MODULE:
                continue  # a .pyd binds to the python DLL its host process already loaded
            yield from _unresolved_libpython(report, library.name)
        elif report.format is BinaryFormat.PE:
            yield _finding(
                report,
                "PKG103",
                Severity.WARNING,
                f"needed library {library.name} is not found beside it, nor in a folder its "
                "package adds at import, and Windows does not provide it",
                "ship it beside the binary, or in a .libs folder that the package's "
                "__init__.py adds with os.add_dll_directory (`delvewheel repair` does this)",
            )
        else:
            yield _finding(
                report,
                "PKG103",
                Severity.WARNING,
                f"needed library {library.name} is not found on this host",
                "install it, or ship it beside the binary and point the rpath at it",
            )


def _unresolved_libpython(report: BinaryReport, name: str) -> Iterable[Finding]:
    if report.format is BinaryFormat.MACHO and name.startswith("@rpath/") and not report.rpaths:
        yield _finding(
            report,
            "PKG107",
            Severity.ERROR,
            f"loads {name} but has no LC_RPATH: dyld will fail with 'Library not loaded'",
            "add an rpath, e.g. `install_name_tool -add_rpath @executable_path/../Frameworks`",
        )
    elif report.format is BinaryFormat.PE:
        yield _finding(
            report,
            "PKG108",
            Severity.ERROR,
            f"imports {name}, which is not beside it: Windows will fail with STATUS_DLL_NOT_FOUND",
            f"ship {name} in the same directory as the executable (`packager bundle` does)",
        )
    else:
        yield _finding(
            report,
            "PKG102",
            Severity.ERROR,
            f"needs {name}, which does not resolve: start-up fails with 'error while loading "
            f"shared libraries: {name}: cannot open shared object file'",
            "ship libpython in a lib/ directory beside the binary with an rpath of "
            "$ORIGIN/../lib (`packager bundle` does), or link statically",
        )


def _unsafe_rpaths(report: BinaryReport) -> Iterable[Finding]:
    for entry in report.rpaths:
        pieces = _rpath_pieces(report, entry)
        unsafe = [piece for piece in pieces if not _anchored(report, piece)]
        if unsafe:
            shown = repr(unsafe[0]) if unsafe[0] else "an empty entry"
            if len(pieces) > 1:
                shown += f" (in {entry!r}, split at ';' as the loader splits LD_LIBRARY_PATH)"
            yield _finding(
                report,
                "PKG104",
                Severity.ERROR,
                f"rpath has {shown}, searched relative to the current directory: anyone who "
                "controls that directory can inject a library",
                "use absolute entries or ones based on $ORIGIN (@loader_path on macOS), "
                "and no empty entries or ';' (`patchelf --set-rpath '$ORIGIN/../lib'`)",
            )
        elif entry.startswith("/") and not inside(entry, own_tree(report.path)):
            yield _finding(
                report,
                "PKG105",
                Severity.WARNING,
                f"rpath {entry} points outside the binary's own tree: the binary is not "
                "relocatable and leaks a build path",
                "use $ORIGIN-relative rpaths (`patchelf --set-rpath '$ORIGIN/../lib'`)",
            )


def _rpath_pieces(report: BinaryReport, entry: str) -> list[str]:
    # ELF entries are already split at ':'. ';' separates LD_LIBRARY_PATH entries, and an
    # rpath copied into it (or by a tool that treats both alike) would split there too.
    # An LC_RPATH is one path: dyld never splits it.
    if report.format is BinaryFormat.MACHO:
        return [entry]
    return re.split("[:;]", entry)


def _anchored(report: BinaryReport, piece: str) -> bool:
    """Whether an rpath entry names the same directory whatever the current directory is."""
    if piece.startswith("/"):
        return True
    if report.format is BinaryFormat.MACHO:
        return piece.startswith(("@loader_path", "@executable_path", "@rpath"))
    return _ORIGIN.match(piece) is not None


def _extension_links_libpython(report: BinaryReport) -> Iterable[Finding]:
    # On Windows every extension module must import pythonXY.dll; elsewhere it must not.
    if (
        report.kind is BinaryKind.EXTENSION_MODULE
        and report.format is not BinaryFormat.PE
        and report.libpython is not None
    ):
        yield _finding(
            report,
            "PKG106",
            Severity.ERROR,
            f"extension module links {report.libpython.name}: it breaks in statically "
            "embedded interpreters and violates manylinux",
            "build it without linking libpython (PyO3's extension-module feature, "
            "or `-undefined dynamic_lookup` on macOS)",
        )


def _damaged_payload(report: BinaryReport) -> Iterable[Finding]:
    if report.payload is not None and report.payload.problem is not None:
        yield _finding(
            report,
            "PKG110",
            Severity.ERROR,
            f"onefile payload is damaged: {report.payload.problem}",
            "rebuild it with `packager bundle --onefile`, or copy the file again",
        )


def _misaligned_segments(report: BinaryReport) -> Iterable[Finding]:
    if report.misaligned_loads:
        yield _finding(
            report,
            "PKG113",
            Severity.ERROR,
            f"{report.misaligned_loads} PT_LOAD segment(s) whose file offset and address "
            "differ modulo their alignment: the loader fails with 'ELF load command address/"
            "offset not properly aligned' (often strip or patchelf run on a file it broke)",
            "ship the file as it was built: leave it unstripped (`--no-strip PATTERN`), "
            "or rebuild it",
        )


def _expect_modules_rule(modules: Sequence[str], roots: Sequence[str]) -> Rule:
    """PKG109 for a file named itself, and for the programs of a folder walked (`roots`):
    a folder's libraries and extension modules register no module of the program's."""

    def rule(report: BinaryReport) -> Iterable[Finding]:
        walked = any(inside(os.path.abspath(report.path), os.path.abspath(r)) for r in roots)
        if walked and report.kind is not BinaryKind.EXECUTABLE:
            return
        for module in modules:
            if f"PyInit_{module}" not in report.symbols.pyinit:
                yield _finding(
                    report,
                    "PKG109",
                    Severity.ERROR,
                    f"no PyInit_{module} in the binary: `import {module}` will fail with "
                    f"ModuleNotFoundError",
                    f"define #[pymodule] {module} and register it with append_to_inittab! "
                    "before Python starts (`packager build` generates this)",
                )

    return rule


_RULES: tuple[Rule, ...] = (
    _unexported_static_embed,
    _unresolved_libraries,
    _unsafe_rpaths,
    _extension_links_libpython,
    _damaged_payload,
    _misaligned_segments,
)
