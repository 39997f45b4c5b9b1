#!/bin/sh
# Launcher for @@NAME@@: runs @@BINARY@@ with the bundled Python, from wherever this
# folder was moved to (commands in ~/.local/bin or /usr/bin may be symlinks to this file).
#
# What it sets, and why:
#   PYTHONHOME       the bundle's root. An embedded interpreter is not told where its
#                    executable is (its program name is "python3"), so CPython's prefix
#                    search would look for python3 on PATH and take that one's stdlib.
#   LD_LIBRARY_PATH  (dynamic builds) the bundle's lib/ first: the binary's RUNPATH
#                    ($ORIGIN/../lib) is searched *after* LD_LIBRARY_PATH, so without this a
#                    user's LD_LIBRARY_PATH could substitute another libpython. Empty and
#                    relative entries of the inherited value (split at ':' and ';', as the
#                    loader splits it) are dropped: the loader would search them relative
#                    to the current directory (a library-hijack hole).
#   PYTHONPATH       unset, and PYTHONNOUSERSITE=1: the app sees only its own stdlib and
#                    site-packages, not a user's. PYTHONPLATLIBDIR is unset too: it would
#                    move where CPython looks for the stdlib inside the bundle.
#   PACKAGER_APP_DIR the bundle's app/ folder (the --app-dir files), so the app finds its
#                    files from any working directory; unset when the bundle has none.
#                    Child processes inherit it.
#   TCL_LIBRARY,     (bundles that ship Tcl/Tk for tkinter) the bundle's lib/tclX.Y and
#   TK_LIBRARY       lib/tkX.Y, so Tcl loads its own script library, never one it would
#                    search for elsewhere (the system's, or relative to the working
#                    directory). Tcl reads them when the app opens its first window, after
#                    the start-up hook below has run, so they are not restored: child
#                    processes inherit them.
#   FONTCONFIG_FILE  (the same bundles, unless already set) the bundle's lib/fonts/fonts.conf:
#                    the system's fontconfig setup, if any, plus the font shipped beside
#                    it, since Tk cannot draw text without a font. Inherited too.
# With `packager bundle --workdir DIR`, the program starts in the bundle's DIR folder.
#
# Children of the app get the user's environment back: the original values are saved in
# PACKAGER_ORIG_<VAR> (absent when the variable was unset) and the names are listed in
# PACKAGER_RESTORE. The bundled interpreter's start-up hook
# (lib/pythonX.Y/site-packages/_packager_restore_env.pth) restores them in the process
# environment before the app's code runs; the loader and the interpreter have read their
# variables by then. Bundles made with --export-env skip this and children inherit the
# launcher's values. A process the binary starts before Python initialises still sees them.

binary=@@BINARY@@
set_library_path=@@SET_LIBRARY_PATH@@
export_env=@@EXPORT_ENV@@
workdir=@@WORKDIR@@
tcl_library=@@TCL_LIBRARY@@
tk_library=@@TK_LIBRARY@@
fonts_conf=@@FONTS_CONF@@

# Find this file's real directory without readlink -f (not in POSIX): follow each
# symlink with plain readlink, then let cd -P and pwd -P resolve the directory.
# Each $(...) ends with an "x" so trailing newlines in a path survive.
self=$0
case $self in
  */*) ;;
  *) self=./$self ;;
esac
while [ -L "$self" ]; do
  link=$(readlink -- "$self" && echo x) || {
    printf '%s\n' "@@NAME@@: cannot read the symlink '$self'" >&2
    exit 127
  }
  link=${link%?x}
  case $link in
    /*) self=$link ;;
    *) self=${self%/*}/$link ;;
  esac
done
dir=${self%/*}
here=$(CDPATH='' cd -P -- "${dir:-/}" && pwd -P && echo x) || {
  printf '%s\n' "@@NAME@@: cannot find the directory of '$0'" >&2
  exit 127
}
here=${here%?x}
# The loader splits LD_LIBRARY_PATH at ':' and at ';': a folder named "a;b" would add the
# relative entry "b/..." (searched from the current directory), so both are refused.
case $here in
  *[:\;]*)
    printf '%s\n' "@@NAME@@: cannot run from '$here': the path contains ':' or ';', which separate entries of LD_LIBRARY_PATH and PYTHONHOME. Move the folder to a path without ':' or ';'." >&2
    exit 127
    ;;
esac

unset PACKAGER_ORIG_PYTHONHOME PACKAGER_ORIG_PYTHONPATH PACKAGER_ORIG_PYTHONNOUSERSITE \
  PACKAGER_ORIG_PYTHONPLATLIBDIR PACKAGER_ORIG_LD_LIBRARY_PATH PACKAGER_RESTORE
restore=
save() {
  # $1 is always one of the literal names below, so eval sees no user data as code.
  restore="$restore $1"
  if eval "[ \"\${$1+set}\" = set ]"; then
    eval "PACKAGER_ORIG_$1=\$$1"
    export "PACKAGER_ORIG_$1"
  fi
}
if [ "$export_env" = 0 ]; then
  save PYTHONHOME
  save PYTHONPATH
  save PYTHONNOUSERSITE
  save PYTHONPLATLIBDIR
  if [ "$set_library_path" = 1 ]; then save LD_LIBRARY_PATH; fi
  PACKAGER_RESTORE=${restore# }
  export PACKAGER_RESTORE
fi

if [ "$set_library_path" = 1 ]; then
  library_path=$here/lib
  set -f
  IFS=':;'
  for entry in ${LD_LIBRARY_PATH-}; do
    case $entry in
      /*) library_path=$library_path:$entry ;;
    esac
  done
  unset IFS
  set +f
  LD_LIBRARY_PATH=$library_path
  export LD_LIBRARY_PATH
fi
PYTHONHOME=$here
export PYTHONHOME
unset PYTHONPATH PYTHONPLATLIBDIR
PYTHONNOUSERSITE=1
export PYTHONNOUSERSITE
if [ -d "$here/app" ]; then
  PACKAGER_APP_DIR=$here/app
  export PACKAGER_APP_DIR
else
  unset PACKAGER_APP_DIR
fi

if [ -n "$tcl_library" ]; then
  TCL_LIBRARY=$here/$tcl_library
  TK_LIBRARY=$here/$tk_library
  export TCL_LIBRARY TK_LIBRARY
  if [ -n "$fonts_conf" ] && [ -z "${FONTCONFIG_FILE-}" ]; then
    FONTCONFIG_FILE=$here/$fonts_conf
    export FONTCONFIG_FILE
  fi
fi

if [ -n "$workdir" ]; then
  cd -- "$here/$workdir" || {
    printf '%s\n' "@@NAME@@: cannot change to the folder '$here/$workdir'" >&2
    exit 127
  }
fi
exec "$here/$binary" "$@"
