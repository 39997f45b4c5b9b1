  # Refresh the caches desktops keep of menu entries and icons under data directory $1,
  # where they exist: one made here would outlive the uninstall, and menus read entries
  # without it. A missing tool or a failing one never stops an install or uninstall.
  refresh_menus() {
    if [ -f "$1/applications/mimeinfo.cache" ] && command -v update-desktop-database >/dev/null 2>&1; then
      update-desktop-database -q "$1/applications" >/dev/null 2>&1 || true
    fi
    if [ -f "$1/icons/hicolor/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
      gtk-update-icon-cache -q -t -f "$1/icons/hicolor" >/dev/null 2>&1 || true
    fi
  }
