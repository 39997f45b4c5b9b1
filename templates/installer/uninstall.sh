#!/bin/sh
# Uninstaller for @@NAME@@, written by its installer: removes the command symlink (only if
# it still points here), the menu entry and icon it wrote, the files it wrote into this
# folder (by name: a file of the user's stays, and so does the folder then), and the
# directories the installer created (if empty).
set -eu
name=@@NAME@@
here=$(CDPATH='' cd -P -- "$(dirname -- "$0")" && pwd -P)
record=$here/.packager-installed
[ -f "$record" ] || {
  printf '%s\n' "$name uninstall: error: '$here' is not an installation made by the $name installer" >&2
  exit 1
}
# The record is read as data: one command and one data folder (the first of each), and
# only paths the installer can have written are acted on (see below).
command_path=$(sed -n 's/^command=//p' "$record" | sed -n 1p)
created=$(sed -n 's/^created=//p' "$record")
files=$(sed -n 's/^file=//p' "$record")
data_home=$(sed -n 's/^data_home=//p' "$record" | sed -n 1p)
# A path the installer wrote is absolute and has no "." or ".." part.
plain_path() {
  case $1 in
    /*) ;;
    *) return 1 ;;
  esac
  case $1/ in
    */./* | */../*) return 1 ;;
  esac
  return 0
}
@@MENUS@@
if [ -n "$command_path" ] && [ -L "$command_path" ] &&
  [ "$(readlink -- "$command_path")" = "$here/$name" ]; then
  rm -f -- "$command_path"
  printf '%s\n' "Removed the command $command_path"
fi
# Only a menu entry or icon under the data folder it recorded.
printf '%s\n' "$files" | while IFS= read -r file; do
  [ -n "$file" ] || continue
  case $file in
    "$data_home"/applications/*.desktop | "$data_home"/icons/*.png) ;;
    *) file= ;;
  esac
  if [ -n "$data_home" ] && [ -n "$file" ] && plain_path "$file" &&
    { [ -f "$file" ] || [ -L "$file" ]; }; then
    rm -f -- "$file" && printf '%s\n' "Removed $file"
  fi
  true
done
[ -z "$data_home" ] || refresh_menus "$data_home"
cd /
if [ -f "$here/.packager-files" ]; then
  # What the installer wrote, by name, and the .pyc files CPython wrote beside it; then
  # each folder that is left empty, deepest first. A file of the user's stays.
  while IFS= read -r path; do
    [ -z "$path" ] || rm -f -- "$here/$path"
  done <"$here/.packager-files"
  find "$here" -path '*/__pycache__/*.pyc' -type f -exec rm -f -- {} + 2>/dev/null || true
  find "$here" -depth -type d -exec rmdir -- {} \; 2>/dev/null || true
else
  rm -rf -- "$here"  # installed by a version that kept no list of its files
fi
if [ -e "$here" ]; then
  printf '%s\n' "Kept $here: it holds files the installer did not write:" >&2
  (cd -- "$here" && find . ! -type d -print | sed 's|^\./|  |') >&2
else
  printf '%s\n' "Removed $here"
fi
# Deepest first: a created parent is listed before its children.
printf '%s\n' "$created" | sed '1!G;h;$!d' | while IFS= read -r dir; do
  [ -n "$dir" ] && plain_path "$dir" && rmdir -- "$dir" 2>/dev/null &&
    printf '%s\n' "Removed the empty directory $dir"
  true
done
exit 0
