@echo off
rem Launcher for @@NAME@@: runs @@BINARY@@ with the bundled Python DLL and stdlib.
rem PATH gets the DLL directory first (one entry, never empty); PYTHONHOME the bundle's
rem root, because an embedded interpreter does not know where its executable is.
rem The original values are saved in PACKAGER_ORIG_<VAR> and restored for the app's child
rem processes by the bundled interpreter's start-up hook (see PACKAGER_RESTORE), unless the
rem bundle was made with --export-env (then @@EXPORT_ENV@@ is 1).
rem Plain %VAR% expansion outside blocks: a PATH holding "(x86)" or "!" stays intact.
setlocal DisableDelayedExpansion
set "PACKAGER_HERE=%~dp0"
set "PACKAGER_HERE=%PACKAGER_HERE:~0,-1%"
set "PACKAGER_RESTORE="
if "@@EXPORT_ENV@@"=="1" goto environment
set "PACKAGER_ORIG_PATH=%PATH%"
set "PACKAGER_ORIG_PYTHONHOME=%PYTHONHOME%"
set "PACKAGER_ORIG_PYTHONPATH=%PYTHONPATH%"
set "PACKAGER_ORIG_PYTHONNOUSERSITE=%PYTHONNOUSERSITE%"
set "PACKAGER_RESTORE=PATH PYTHONHOME PYTHONPATH PYTHONNOUSERSITE"
:environment
if not defined PATH goto emptypath
set "PATH=%PACKAGER_HERE%\@@DLL_DIR@@;%PATH%"
goto pathdone
:emptypath
set "PATH=%PACKAGER_HERE%\@@DLL_DIR@@"
:pathdone
set "PYTHONHOME=%PACKAGER_HERE%"
set "PYTHONPATH="
set "PYTHONNOUSERSITE=1"
"%PACKAGER_HERE%\@@BINARY@@" %*
exit /b %ERRORLEVEL%
