#!/bin/sh
{
  # Self-extracting installer for @@NAME@@, made by packager. No root needed.
  #   sh @@NAME@@-installer.sh [--prefix DIR] [--bin-dir DIR]
  # Installs the program into PREFIX/opt/@@NAME@@ (PREFIX defaults to ~/.local), puts the
  # command @@NAME@@ into BIN_DIR (default PREFIX/bin) as a symlink to the launcher, and
  # writes PREFIX/opt/@@NAME@@/uninstall. A GUI app (or one with an icon) also gets its
  # menu entry and icon in $XDG_DATA_HOME (default ~/.local/share), whatever the prefix.
  # It first checks that this system can run the program: its machine, and a glibc at least
  # as new as the program's floor (the newest GLIBC_x.y any file needs); it refuses with a
  # non-zero exit otherwise, instead of installing something that cannot start.
  # Before anything is written it checks the payload's SHA-256 and refuses any archive
  # member that is not a plain file or directory under @@NAME@@/ (no "..", absolute paths,
  # links or devices) or that is setuid, setgid or world-writable. It extracts into a
  # temporary directory that is removed on every exit, as the user running it (owners in
  # the archive are ignored) and with no group or world write permission.
  # The whole script is one { ... } group: a shell runs a script while reading it, but
  # parses a group to its closing brace before running any of it, so a file cut short
  # fails to parse instead of running part of it (a cut inside the payload fails the
  # checksum). A function called on the last line would leave a gap: cut between the
  # definition and the call, the script would define it, run nothing, and exit 0.
  set -eu

  name=@@NAME@@
  payload_size=@@PAYLOAD_SIZE@@
  payload_sha256=@@PAYLOAD_SHA256@@
  arch=@@ARCH@@
  glibc_floor=@@GLIBC_FLOOR@@
  desktop_id=@@DESKTOP_ID@@
  icon_dir=@@ICON_DIR@@

  say() { printf '%s\n' "$*"; }
  fail() {
    printf '%s\n' "$name installer: error: $*" >&2
    exit 1
  }

  prefix=
  bin_dir=
  while [ "$#" -gt 0 ]; do
    case $1 in
      --prefix) [ "$#" -ge 2 ] || fail "--prefix needs a directory"; prefix=$2; shift 2 ;;
      --prefix=*) prefix=${1#--prefix=}; shift ;;
      --bin-dir) [ "$#" -ge 2 ] || fail "--bin-dir needs a directory"; bin_dir=$2; shift 2 ;;
      --bin-dir=*) bin_dir=${1#--bin-dir=}; shift ;;
      -h | --help)
        say "usage: sh $0 [--prefix DIR] [--bin-dir DIR]"
        say "  installs $name into DIR/opt/$name (default DIR: ~/.local) and the command into"
        say "  --bin-dir (default DIR/bin)"
        exit 0
        ;;
      *) fail "unknown option '$1' (see --help)" ;;
    esac
  done
  if [ -z "$prefix" ]; then
    [ -n "${HOME-}" ] || fail "HOME is not set; pass --prefix DIR"
    prefix=$HOME/.local
  fi
  [ -n "$bin_dir" ] || bin_dir=$prefix/bin

  machine=$(uname -m 2>/dev/null) || machine=unknown
  case $arch:$machine in
    x86_64:x86_64 | x86_64:amd64 | aarch64:aarch64 | aarch64:arm64 | i386:i?86 | arm:arm*) ;;
    "$machine:$machine") ;;
    *) fail "$name is built for $arch; this system is $machine" ;;
  esac

  # "2.36" from getconf (glibc's own answer), else from ldd's first line, else from
  # running libc.so.6 itself (it prints its version); empty when none of them says.
  glibc_version() {
    found=$(getconf GNU_LIBC_VERSION 2>/dev/null) || found=
    case $found in "glibc "*) printf '%s\n' "${found#glibc }"; return 0 ;; esac
    found=$({ ldd --version 2>&1 || true; } | sed -n '1s/.* \([0-9][0-9]*\.[0-9][0-9]*\)$/\1/p')
    [ -z "$found" ] || { printf '%s\n' "$found"; return 0; }
    for libc in /lib/*/libc.so.6 /lib64/libc.so.6 /lib/libc.so.6 /usr/lib/*/libc.so.6 /usr/lib64/libc.so.6; do
      [ -x "$libc" ] || continue
      found=$("$libc" 2>/dev/null | sed -n '1s/.* version \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')
      [ -z "$found" ] || { printf '%s\n' "$found"; return 0; }
    done
  }
  # Whether version $1 is at least $2 (both MAJOR.MINOR).
  at_least() {
    have_major=${1%%.*} have_minor=${1#*.} need_major=${2%%.*} need_minor=${2#*.}
    have_minor=${have_minor%%.*} need_minor=${need_minor%%.*}
    [ "$have_major" -gt "$need_major" ] ||
      { [ "$have_major" -eq "$need_major" ] && [ "$have_minor" -ge "$need_minor" ]; }
  }
  if [ -n "$glibc_floor" ]; then
    have=$(glibc_version)
    case $have in
      [0-9]*.[0-9]*) ;;
      *) fail "$name needs glibc >= $glibc_floor, and this system's glibc version cannot be found (getconf GNU_LIBC_VERSION, ldd --version): it may use another C library, such as musl" ;;
    esac
    at_least "$have" "$glibc_floor" ||
      fail "$name needs glibc >= $glibc_floor, this system has $have; nothing was installed"
  fi
  # Absolute from here on: the uninstaller runs from / and must remove exactly these paths.
  case $prefix in /*) ;; *) prefix=$(pwd -P)/$prefix ;; esac
  case $bin_dir in /*) ;; *) bin_dir=$(pwd -P)/$bin_dir ;; esac
  # The install record holds one path per line: a newline in one would add a line of its own.
  for path in "$prefix" "$bin_dir"; do
    case $path in
      *[[:cntrl:]]*) fail "'$path' holds a control character; choose another directory" ;;
    esac
  done
  # The launcher refuses to run from a folder whose path holds ':' or ';' (they separate
  # LD_LIBRARY_PATH entries): refuse it now rather than install a program that cannot run.
  case $prefix in
    *[:\;]*) fail "'$prefix' holds ':' or ';', which the program cannot run from; choose another directory" ;;
  esac

  sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum -- "$1"
    elif command -v shasum >/dev/null 2>&1; then shasum -a 256 -- "$1"
    elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r -- "$1"
    else fail "no sha256sum, shasum or openssl found to check the payload"
    fi
  }

@@MENUS@@

  # The Exec value that runs the one argument $1, by the Desktop Entry spec's rules (a
  # shell's quoting would be misread): in double quotes with " ` $ and \ escaped by a
  # backslash and % doubled, then every backslash doubled again for the string escape
  # a reader undoes first.
  desktop_exec() {
    printf '"%s"\n' "$(printf '%s' "$1" | sed -e 's/\\/\\\\\\\\/g' -e 's/["`$]/\\\\&/g' -e 's/%/%%/g')"
  }

  # One installation into a prefix at a time: mkdir is atomic. A lock whose installer
  # is gone (killed) is taken over; a live one is waited for, at most 10 minutes.
  take_lock() {
    waited=0
    until mkdir -- "$1" 2>/dev/null; do
      holder=$(cat -- "$1/pid" 2>/dev/null || true)
      if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
        rm -rf -- "$1"
        continue
      fi
      [ "$waited" -gt 0 ] || say "waiting for another installation of $name into '$prefix' to finish..."
      waited=$((waited + 1))
      [ "$waited" -le 600 ] ||
        fail "another installation of $name has held '$1' for 10 minutes; remove it if none is running"
      sleep 1
    done
    lock_held=$1
    printf '%s\n' "$$" >"$1/pid"
  }

  # The files the installation wrote, one path relative to its folder per line: what an
  # upgrade replaces and the uninstaller removes (a file of the user's in it is kept).
  own_files() {
    sed -n "s|^$name/||p" "$work/names" | while IFS= read -r path; do
      case $path in "" | */) ;; *) printf '%s\n' "$path" ;; esac
    done
    printf '%s\n' uninstall .packager-installed .packager-files
  }

  # Files of the user's in the folder being replaced ($1, its record of own files in it)
  # move into the new one ($2), unless it has a file of that name; .pyc files CPython
  # wrote are left to go with the old version.
  keep_user_files() {
    [ -f "$1/.packager-files" ] || return 0
    (cd -- "$1" && find . ! -type d -print) >"$work/old-tree" || fail "cannot read '$1'"
    while IFS= read -r path; do
      path=${path#./}
      case $path in *__pycache__/*.pyc) continue ;; esac
      grep -qxF -- "$path" "$1/.packager-files" && continue
      [ -e "$2/$path" ] || [ -L "$2/$path" ] && continue
      mkdir -p -- "$(dirname -- "$2/$path")" && mv -- "$1/$path" "$2/$path" ||
        fail "cannot keep your file '$1/$path'"
    done <"$work/old-tree"
  }

  make_dir() {
    # mkdir -p, remembering each directory created so the uninstaller can remove it again.
    [ -d "$1" ] && return 0
    make_dir "$(dirname -- "$1")"
    if mkdir -- "$1" 2>/dev/null; then
      printf 'created=%s\n' "$1" >>"$work/created"
    elif [ ! -d "$1" ]; then
      # Not made by another installation running beside this one: try again, to say why.
      mkdir -- "$1" || fail "cannot create '$1'"
      printf 'created=%s\n' "$1" >>"$work/created"
    fi
  }

  self=$0
  [ -f "$self" ] || fail "cannot read the installer itself ('$self'); run it as: sh path/to/installer.sh"
  work=$(mktemp -d "${TMPDIR:-/tmp}/$name-install.XXXXXX") || fail "cannot create a temporary directory"
  lock_held=
  trap 'rm -rf -- "$work"; [ -z "$lock_held" ] || rm -rf -- "$lock_held"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  payload=$work/payload.tar.gz

  tail -c "$payload_size" -- "$self" >"$payload" || fail "cannot read the payload"
  actual=$(sha256 "$payload") || fail "cannot compute the payload checksum"
  actual=${actual%% *}
  [ "$actual" = "$payload_sha256" ] ||
    fail "checksum mismatch: the payload's SHA-256 is $actual, expected $payload_sha256. The installer is damaged or was modified; download it again."

  # Every member must be a directory or a regular file named $name or $name/...
  tar -tzf "$payload" >"$work/names" || fail "the payload is not a readable tar.gz"
  while IFS= read -r member; do
    case $member in
      /* | ../* | */../* | */.. | ..) fail "refusing archive member '$member': it escapes the install directory" ;;
    esac
    case $member in
      "$name" | "$name"/*) ;;
      *) fail "refusing archive member '$member': not inside $name/" ;;
    esac
  done <"$work/names"
  # Each listing line starts with the member's type and mode, as in "drwxr-xr-x".
  tar -tvzf "$payload" >"$work/listing" || fail "the payload is not a readable tar.gz"
  while IFS= read -r line; do
    case $line in
      d* | -*) ;;
      *) fail "refusing archive member '$line': only plain files and directories are installed" ;;
    esac
    case $line in
      ???[sS]* | ??????[sS]*) fail "refusing archive member '$line': it is setuid or setgid" ;;
      ????????w*) fail "refusing archive member '$line': it is world-writable" ;;
    esac
  done <"$work/listing"

  mkdir -- "$work/extract"
  # -o: files belong to whoever runs this, even root (who would get the archive's owners).
  (cd -- "$work/extract" && tar -xozf "$payload") || fail "extracting the payload failed"
  # Check again what is on disk, in case a tar listed something differently.
  unexpected=$(cd -- "$work/extract" && find . ! -type d ! -type f -print | head -n 1)
  [ -z "$unexpected" ] || fail "refusing the payload: it contains '$unexpected', which is not a plain file"
  unexpected=$(cd -- "$work/extract" && find . -perm -4000 -print -o -perm -2000 -print -o -perm -0002 -print | head -n 1)
  [ -z "$unexpected" ] || fail "refusing the payload: '$unexpected' is setuid, setgid or world-writable"
  # Root's tar keeps the archive's modes whatever the umask: take group and world write away.
  chmod -R go-w -- "$work/extract"
  for entry in "$work/extract"/* "$work/extract"/.*; do
    case ${entry##*/} in
      . | .. | '*' | '.*' | "$name") ;;
      *) fail "refusing the payload: unexpected top-level entry '${entry##*/}'" ;;
    esac
  done
  [ -d "$work/extract/$name" ] || fail "the payload has no $name/ directory"

  # The menu entry and icon: where they go, refusing files this installer did not write
  # (before anything is created).
  entry_file=
  icon_file=
  data_home=
  if [ -n "$desktop_id" ]; then
    data_home=${XDG_DATA_HOME-}
    [ -n "$data_home" ] || data_home=${HOME:+$HOME/.local/share}
    # The XDG spec ignores a relative XDG_DATA_HOME, and the uninstaller runs from /.
    case $data_home in /*) ;; *) data_home= ;; esac
    case $data_home in
      *[[:cntrl:]]*) fail "'$data_home' (XDG_DATA_HOME) holds a control character; set another" ;;
    esac
    # The Desktop Entry spec escapes it as %%, but GLib's launcher refuses such an entry.
    case $prefix in
      *%*) fail "'$prefix' holds '%', which desktop menus (GLib) cannot start a program from; choose another --prefix" ;;
    esac
  fi
  if [ -n "$data_home" ]; then
    entry_file=$data_home/applications/$desktop_id.desktop
    [ -z "$icon_dir" ] || icon_file=$data_home/$icon_dir/$desktop_id.png
    for file in "$entry_file" "$icon_file"; do
      [ -n "$file" ] || continue
      if [ -e "$file" ] || [ -L "$file" ]; then
        grep -qxF -- "file=$file" "$prefix/opt/$name/.packager-installed" 2>/dev/null ||
          fail "'$file' exists and was not installed by this installer; remove it first"
      fi
    done
  fi

  make_dir "$prefix/opt"
  make_dir "$bin_dir"
  prefix_real=$(cd -P -- "$prefix" && pwd -P)
  bin_real=$(cd -P -- "$bin_dir" && pwd -P)
  take_lock "$prefix_real/opt/.$name.lock"
  dest=$prefix_real/opt/$name
  command_path=$bin_real/$name
  if [ -e "$dest" ] || [ -L "$dest" ]; then
    [ -f "$dest/.packager-installed" ] ||
      fail "'$dest' exists and was not installed by this installer; remove it or choose another --prefix"
  fi
  if [ -e "$command_path" ] || [ -L "$command_path" ]; then
    [ -L "$command_path" ] && [ "$(readlink -- "$command_path")" = "$dest/$name" ] ||
      fail "'$command_path' exists and is not this program's command; remove it or choose another --bin-dir"
  fi

  if [ -n "$data_home" ]; then
    case $dest in
      *[[:cntrl:]]*) fail "'$dest' holds a control character, which a menu entry cannot run; choose another --prefix" ;;
      *%*) fail "'$dest' holds '%', which desktop menus (GLib) cannot start a program from; choose another --prefix" ;;
    esac
    make_dir "$data_home/applications"
    [ -z "$icon_file" ] || make_dir "$data_home/$icon_dir"
  fi

  cat >"$work/extract/$name/uninstall" <<'PACKAGER_UNINSTALLER_END'
@@UNINSTALLER@@
PACKAGER_UNINSTALLER_END
  chmod 0755 "$work/extract/$name/uninstall"
  {
    printf 'command=%s\n' "$command_path"
    [ -z "$data_home" ] || printf 'data_home=%s\n' "$data_home"
    [ -z "$entry_file" ] || printf 'file=%s\n' "$entry_file"
    [ -z "$icon_file" ] || printf 'file=%s\n' "$icon_file"
    if [ -f "$work/created" ]; then cat -- "$work/created"; fi
  } >"$work/extract/$name/.packager-installed"
  own_files >"$work/extract/$name/.packager-files"

  staged=$prefix_real/opt/.$name.new.$$
  old=$prefix_real/opt/.$name.old.$$
  rm -rf -- "$staged" "$old"
  mv -- "$work/extract/$name" "$staged" || fail "cannot write into '$prefix_real/opt'"
  if [ -e "$dest" ]; then
    mv -- "$dest" "$old"
    if [ -f "$old/.packager-installed" ]; then
      # Keep the record of directories the first installation created.
      grep '^created=' "$old/.packager-installed" >>"$staged/.packager-installed" || true
      grep '^file=' "$old/.packager-installed" >"$work/old-files" || true
    fi
    keep_user_files "$old" "$staged"
  fi
  mv -- "$staged" "$dest"
  rm -rf -- "$old"
  ln -sfn -- "$dest/$name" "$command_path"
  if [ -n "$icon_file" ]; then
    cp -- "$dest/.packager-icon.png" "$icon_file.new.$$" &&
      chmod 0644 "$icon_file.new.$$" && mv -f -- "$icon_file.new.$$" "$icon_file" ||
      fail "cannot write the icon '$icon_file'"
  fi
  if [ -n "$entry_file" ]; then
    {
      cat <<'PACKAGER_DESKTOP_ENTRY_END'
@@DESKTOP_ENTRY@@
PACKAGER_DESKTOP_ENTRY_END
      printf 'Exec=%s\n' "$(desktop_exec "$dest/$name")"
    } >"$entry_file.new.$$" &&
      chmod 0644 "$entry_file.new.$$" && mv -f -- "$entry_file.new.$$" "$entry_file" ||
      fail "cannot write the menu entry '$entry_file'"
    refresh_menus "$data_home"
  fi

  # A menu entry or icon of the replaced version that this one no longer installs.
  if [ -f "$work/old-files" ]; then
    while IFS= read -r line; do
      grep -qxF -- "$line" "$dest/.packager-installed" || rm -f -- "${line#file=}"
    done <"$work/old-files"
  fi

  say "Installed $name into $dest"
  say "  command:   $command_path"
  [ -z "$entry_file" ] || say "  menu:      $entry_file"
  [ -z "$desktop_id" ] || [ -n "$entry_file" ] ||
    say "  note: no menu entry: neither XDG_DATA_HOME nor HOME names an absolute directory"
  say "  uninstall: $dest/uninstall"
  case ":${PATH-}:" in
    *":$bin_dir:"* | *":$bin_real:"*) ;;
    *) say "  note: $bin_dir is not on your PATH; add it, or run $command_path" ;;
  esac
  exit 0
}
