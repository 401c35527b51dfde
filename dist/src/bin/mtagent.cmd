@echo off
rem mtagent launcher for Windows. JAVA_HOME selects the Java (17 or newer), else java on PATH.
rem MTAGENT_HEAP sets -Xms/-Xmx (default 1g); MTAGENT_OPTS adds JVM options (GC logging is off by default).
rem As a service, the service control manager runs Java directly ('mtagent service install' records the command).
setlocal
set "MTAGENT_HOME=%~dp0.."
if defined JAVA_HOME (set "JAVA=%JAVA_HOME%\bin\java.exe") else (set "JAVA=java")
if not defined MTAGENT_HEAP set "MTAGENT_HEAP=1g"
"%JAVA%" -version >nul 2>&1
if errorlevel 1 (
  echo mtagent: no Java found: install Java 17 or newer or set JAVA_HOME 1>&2
  exit /b 1
)
rem The daemon and the commands that run an agent or stream whole disks take MTAGENT_HEAP; the others (status,
rem points, recover, ...) a small heap (MTAGENT_CLI_HEAP, default 128m) that starts fast.
if not defined MTAGENT_CLI_HEAP set "MTAGENT_CLI_HEAP=128m"
set "MTAGENT_DAEMON="
for %%c in (run demo bench send export verify) do if /i "%~1"=="%%c" set "MTAGENT_DAEMON=1"
if /i "%~1"=="service" if /i "%~2"=="run" set "MTAGENT_DAEMON=1"
if not defined MTAGENT_DAEMON (
  "%JAVA%" -Xmx%MTAGENT_CLI_HEAP% -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:MaxDirectMemorySize=64m "-Dmtagent.home=%MTAGENT_HOME%" %MTAGENT_OPTS% -jar "%MTAGENT_HOME%\lib\mtagent.jar" %*
  exit /b %ERRORLEVEL%
)
"%JAVA%" -Xms%MTAGENT_HEAP% -Xmx%MTAGENT_HEAP% -XX:MaxDirectMemorySize=512m -XX:+ExitOnOutOfMemoryError "-Dmtagent.home=%MTAGENT_HOME%" %MTAGENT_OPTS% -jar "%MTAGENT_HOME%\lib\mtagent.jar" %*
exit /b %ERRORLEVEL%
