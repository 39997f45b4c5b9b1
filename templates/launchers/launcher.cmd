@echo off
rem Launcher for @@NAME@@: runs @@BINARY@@ with the bundled Python DLL and stdlib.
rem PATH gets the DLL folder first: one absolute entry taken from this file's own folder
rem (%~dp0), never empty and never relative to the current directory. PYTHONHOME is the
rem bundle's root, because an embedded interpreter does not know where its stdlib is.
rem setlocal undoes every change for the console that called this file once it ends.
rem The program itself, and so its children, get the changed variables: a .cmd file cannot
rem set one environment for a process and another for that process's children. The
rem bundled interpreter's start-up hook (Lib\site-packages\_packager_restore_env.py)
rem restores the originals, saved as PACKAGER_ORIG_PATH and so on and named in PACKAGER_RESTORE,
rem unless the bundle was made with --export-env (then @@EXPORT_ENV@@ is 1).
rem Plain %VAR% expansion outside blocks: values holding "(x86)", "!" or "&" stay intact.
setlocal DisableDelayedExpansion
rem %%~f makes a full, normalised path: "D:\app\." becomes "D:\app", "D:\." stays "D:\".
for %%I in ("%~dp0.") do set "PACKAGER_HERE=%%~fI"
for %%I in ("%~dp0@@DLL_DIR@@") do set "PACKAGER_DLLS=%%~fI"
rem A ";" in the folder's path would split its PATH entry in two, the second relative to
rem the current directory (where anyone could put a DLL): refuse to run from there.
if not "%PACKAGER_HERE:;=%"=="%PACKAGER_HERE%" goto separator
set "PACKAGER_RESTORE="
if "@@EXPORT_ENV@@"=="1" goto environment
set "PACKAGER_ORIG_PATH=%PATH%"
set "PACKAGER_ORIG_PYTHONHOME=%PYTHONHOME%"
set "PACKAGER_ORIG_PYTHONPATH=%PYTHONPATH%"
set "PACKAGER_ORIG_PYTHONNOUSERSITE=%PYTHONNOUSERSITE%"
set "PACKAGER_RESTORE=PATH PYTHONHOME PYTHONPATH PYTHONNOUSERSITE"
:environment
if not defined PATH goto emptypath
set "PATH=%PACKAGER_DLLS%;%PATH%"
goto pathdone
:emptypath
set "PATH=%PACKAGER_DLLS%"
:pathdone
set "PYTHONHOME=%PACKAGER_HERE%"
set "PYTHONPATH="
set "PYTHONNOUSERSITE=1"
rem The helpers go before the program starts, so that they do not reach it.
set "PACKAGER_HERE="
set "PACKAGER_DLLS="
"%~dp0@@BINARY@@" %*
exit /b %ERRORLEVEL%
:separator
echo @@NAME@@: cannot run from "%PACKAGER_HERE%": the path contains ';', which separates the entries of PATH. Move the folder to a path without ';'. 1>&2
exit /b 127
