"""The local Neo4j server's life: start, stop, status.

Everything lives under one home directory: `conf/` (neo4j.conf, apoc.conf and server-logs.xml,
rewritten on each start),
`data/`, `logs/`, `run/` (pid file), `password` and `settings.json` (ports and memory the
server was last started with, which status, stop and connect read back).

The home is private to its user: the directory is 0700, every file in it 0600 (the store, the
password hash in data/dbms/auth.ini, the logs). Neo4j has no setting for the modes of the files
it makes, so the admin tool and the server run under umask 077; what circuitstore writes itself
is made 0600; and each start makes private whatever an older version (or anything else) left
readable.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import string
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path

import platformdirs

from circuitstore.errors import CircuitstoreError
from circuitstore.server import browser, jars

# heap "auto": an eighth of the machine's memory, 1g to 8g (see machine_heap); pagecache "auto":
# sized from the store at each start (see auto_pagecache).
DEFAULTS = {"bolt_port": 7687, "http_port": 7474, "heap": "auto", "pagecache": "auto"}
# The page cache "auto" gives at least (room for a few million edges before the next start).
MIN_PAGECACHE = 512 * 2**20
START_TIMEOUT = 180.0
# The offline importer's memory (run_importer): bounded, since its defaults take a quarter of the
# machine's memory as heap and 90% of what is free off it (measured peak: 560 MiB for 13.8M edges).
IMPORTER_HEAP = "1g"
IMPORTER_OFF_HEAP = "2g"
STOP_TIMEOUT = 120.0
# The Bolt handshake: magic preamble, then four version proposals (5.0-5.8, 4.4).
_BOLT_HELLO = b"\x60\x60\xb0\x17" + b"\x00\x08\x08\x05" + b"\x00\x00\x04\x04" + bytes(8)


class NeedsRestart(CircuitstoreError):
    """The server runs with other settings than those asked for; they take effect on a restart."""


def machine_memory() -> int:
    """Bytes of memory this machine (or its cgroup) has."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        memory = min(memory, int(Path("/sys/fs/cgroup/memory.max").read_text()))
    except (OSError, ValueError):  # no cgroup v2 limit ("max", or no such file)
        pass
    return memory


def machine_heap() -> str:
    """The heap `auto` means: an eighth of the machine's memory, in whole GiB, at least 1g and
    at most 8g. Neo4j holds a whole transaction in 70% of the heap, so this decides the largest
    graph that stores in one: 3g (24 GiB here) holds some 1,100,000 edges."""
    return f"{min(8, max(1, round(machine_memory() / 8 / 2**30)))}g"


def auto_pagecache(database_bytes: int, heap: str) -> str:
    """The page cache `auto` means: what holds the store whole (1.2 times its files, as
    `pagecache_wanted`), at least 512m, and at most half of the memory the heap leaves, so the
    machine keeps room for the compute beside the server. Queries that touch cold graphs read the
    disk otherwise: a 1,000-graph store outgrew a fixed 512m."""
    room = (machine_memory() - _bytes(heap)) // 2
    return f"{max(1, min(math.ceil(max(MIN_PAGECACHE, 1.2 * database_bytes) / 2**20), room // 2**20))}m"


def _bytes(size: str) -> int:
    return int(size[:-1]) * 2 ** {"k": 10, "m": 20, "g": 30}[size[-1].lower()]


def default_home() -> Path:
    """$CIRCUITSTORE_HOME, else `neo4j/` in the user's data directory."""
    env = os.environ.get("CIRCUITSTORE_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("circuitstore")) / "neo4j"


@dataclass(frozen=True)
class Settings:
    bolt_port: int = DEFAULTS["bolt_port"]
    http_port: int = DEFAULTS["http_port"]
    heap: str = DEFAULTS["heap"]
    pagecache: str = DEFAULTS["pagecache"]

    @property
    def jvm_heap(self) -> str:
        """The heap the JVM gets (`auto` worked out for this machine)."""
        return machine_heap() if self.heap == "auto" else self.heap

    def server_pagecache(self, database_bytes: int) -> str:
        """The page cache the server gets from a start on a store of `database_bytes`."""
        return auto_pagecache(database_bytes, self.jvm_heap) if self.pagecache == "auto" else self.pagecache


class LocalServer:
    """One Neo4j server home. Cheap to make: nothing happens until start()."""

    def __init__(self, home: str | os.PathLike | None = None) -> None:
        self.home = Path(home).expanduser().resolve() if home else default_home()

    # -- paths and saved state ------------------------------------------------------------

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def _pid_file(self) -> Path:
        return self.home / "run" / "circuitstore-neo4j.pid"

    @property
    def _settings_file(self) -> Path:
        return self.home / "settings.json"

    @property
    def console_log(self) -> Path:
        return self.home / "logs" / "console.log"

    def settings(self) -> Settings:
        """The settings the server was last started with (defaults before the first start)."""
        try:
            saved = json.loads(self._settings_file.read_text())
        except FileNotFoundError:
            return Settings()
        return Settings(**{k: saved[k] for k in DEFAULTS if k in saved})

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.settings().bolt_port}"

    @property
    def browser_url(self) -> str:
        return f"http://127.0.0.1:{self.settings().http_port}/browser/"

    def password(self) -> str | None:
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            return None

    # -- state ---------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The server's process id if it is running, else None (a stale pid file is ignored)."""
        try:
            pid = int(self._pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        if not _alive(pid):
            return None
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists():  # guard against a recycled pid
            args = cmdline.read_bytes().split(b"\0")
            if b"org.neo4j.server.CommunityEntryPoint" not in args or f"--home-dir={self.home}".encode() not in args:
                return None
        return pid

    def status(self) -> dict:
        s = self.settings()
        pid = self.pid()
        answers = pid is not None and bolt_answers(s.bolt_port)
        sizes = self.sizes()
        return {
            "running": answers,
            "state": "running" if answers else "starting" if pid else "stopped",
            "pid": pid,
            "home": str(self.home),
            "bolt": f"bolt://127.0.0.1:{s.bolt_port}",
            "http": f"http://127.0.0.1:{s.http_port}",
            "browser": self.browser_url,
            "version": jars.version("neo4j"),
            "apoc": jars.version("apoc"),
            "heap": s.jvm_heap,
            "heap_setting": s.heap,
            "pagecache": self._configured_pagecache() or s.server_pagecache(sizes["database_bytes"]),
            "pagecache_setting": s.pagecache,
            **sizes,
        }

    def _configured_pagecache(self) -> str | None:
        """The page cache the last start gave the server (auto is worked out at each start)."""
        try:
            conf = (self.home / "conf" / "neo4j.conf").read_text()
        except FileNotFoundError:
            return None
        found = re.search(r"^server\.memory\.pagecache\.size=(\S+)$", conf, re.M)
        return found[1] if found else None

    def sizes(self) -> dict:
        """Bytes on disk: all of data/ (`store_bytes`), the databases' store files and indexes
        (`database_bytes`), their transaction logs (`tx_log_bytes`), and the page cache that
        holds the store whole (`pagecache_wanted`, 1.2 times the store files, whole MiB: what
        `--pagecache` should be for queries that never read the disk)."""
        data = self.home / "data"
        databases = _disk_usage(data / "databases")
        return {
            "store_bytes": _disk_usage(data),
            "database_bytes": databases,
            "tx_log_bytes": _disk_usage(data / "transactions"),
            "pagecache_wanted": f"{max(1, math.ceil(1.2 * databases / 2**20))}m",
        }

    # -- start and stop ------------------------------------------------------------------

    def start(
        self,
        timeout: float = START_TIMEOUT,
        *,
        restart: bool = False,
        on_progress: Callable[[str], None] = lambda line: None,
        **overrides,
    ) -> bool:
        """Start the server and wait until Bolt and HTTP answer. Returns False if it already ran.

        `overrides` (bolt_port, http_port, heap, pagecache; None means keep) change the saved
        settings. A running server keeps its own: asking it for others raises NeedsRestart,
        unless `restart`, which stops a running server first (whatever its settings).
        `on_progress` hears, a line at a time, about a start that first recovers the store after
        an unclean stop (how far it is, from Neo4j's debug.log).
        """
        self.home.mkdir(parents=True, exist_ok=True)
        _make_private(self.home)
        with os.fdopen(os.open(self.home / ".start.lock", os.O_WRONLY | os.O_CREAT, 0o600), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two starts at once must not launch two servers
            return self._start(timeout, overrides, restart, on_progress)

    def _start(self, timeout: float, overrides: dict, restart: bool, on_progress: Callable[[str], None]) -> bool:
        current = self.settings()
        wanted = replace(current, **{k: v for k, v in overrides.items() if v is not None})
        for name in ("heap", "pagecache"):
            value = str(getattr(wanted, name))
            if not (re.fullmatch(r"[1-9][0-9]*[kmg]", value, re.I) or value == "auto"):
                example = "3g" if name == "heap" else "2g"
                raise CircuitstoreError(f"--{name} expects auto (the default) or a size like {example}, got {value!r}")
        if self.pid() is not None:
            if restart:
                self.stop()
            elif wanted != current:
                changed = [name for name in DEFAULTS if getattr(wanted, name) != getattr(current, name)]
                raise NeedsRestart(
                    f"the server in {self.home} runs with {_describe(current, changed)}; "
                    f"{_describe(wanted, changed)} take{'s' if len(changed) == 1 else ''} effect on a restart: "
                    "add --restart to this command"
                )
            else:
                self._wait_until_ready(self.pid(), current, timeout)
                return False
        elif self._pid_file.exists():  # the last run ended without stop: killed, or the machine went down
            on_progress("Neo4j did not stop cleanly last time; it checks and recovers its store first")
        java = _java()
        for port in (wanted.bolt_port, wanted.http_port):
            _check_port_free(port)
        found = jars.resolve()
        found = replace(found, browser=browser.with_assets(found.browser))

        for sub in ("conf", "data", "logs", "run", "import"):
            (self.home / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(self._settings_file, json.dumps(asdict(wanted), indent=2) + "\n")
        template = string.Template((resources.files("circuitstore.server") / "neo4j.conf").read_text())
        _write_private(
            self.home / "conf" / "neo4j.conf",
            template.substitute(
                home=self.home,
                plugins=found.plugins,
                post_connect_cmd=browser.post_connect_cmd(f"http://127.0.0.1:{wanted.http_port}"),
                **{**asdict(wanted), "pagecache": wanted.server_pagecache(self.sizes()["database_bytes"])},
            ),
        )
        for name in ("apoc.conf", "server-logs.xml"):
            _write_private(self.home / "conf" / name, (resources.files("circuitstore.server") / name).read_text())
        self._ensure_password(java, found)

        debug_log = self.home / "logs" / "debug.log"
        recovery = _RecoveryLog(debug_log, debug_log.stat().st_size if debug_log.exists() else 0)
        with os.fdopen(os.open(self.console_log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as log:
            proc = subprocess.Popen(
                [
                    java,
                    f"-Xms{wanted.jvm_heap}",
                    f"-Xmx{wanted.jvm_heap}",
                    *_JVM_FLAGS,
                    "-cp",
                    found.classpath,
                    "org.neo4j.server.CommunityEntryPoint",
                    f"--home-dir={self.home}",
                    f"--config-dir={self.home / 'conf'}",
                    "--console-mode",
                ],
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the CLI, and ^C in the shell does not reach it
                umask=0o077,  # what Neo4j writes is the user's alone
            )
        _write_private(self._pid_file, f"{proc.pid}\n")
        self._wait_until_ready(proc.pid, wanted, timeout, proc, lambda: [on_progress(ln) for ln in recovery.news()])
        return True

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Shut the server down cleanly (SIGTERM, wait). Returns False if it was not running."""
        pid = self.pid()
        if pid is None:
            self._pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                self._pid_file.unlink(missing_ok=True)
                raise CircuitstoreError(f"Neo4j (pid {pid}) did not stop within {timeout:.0f}s and was killed")
            time.sleep(0.2)
        self._pid_file.unlink(missing_ok=True)
        return True

    def run_importer(
        self, arguments: list[str], *, cwd: Path, on_line: Callable[[str], None] = lambda line: None
    ) -> None:
        """Run Neo4j's offline importer, `neo4j-admin database import full neo4j ARGUMENTS`, into
        this home's store (the server must be stopped; the `neo4j` database must not exist), in
        bounded memory, with `cwd` for its report. Each line it prints goes to `on_line`; a
        failure raises CircuitstoreError with the importer's reason."""
        if self.pid() is not None:
            raise CircuitstoreError(f"the server in {self.home} is running; the offline importer needs it stopped")
        java = _java()
        found = jars.resolve()
        proc = subprocess.Popen(
            [
                java,
                f"-Xmx{IMPORTER_HEAP}",
                *_JVM_FLAGS,
                "-cp",
                str(found.lib / "*"),
                "org.neo4j.cli.AdminTool",
                "database",
                "import",
                "full",
                "neo4j",
                "--verbose",  # a failure's causes, not only "Error importing csv file."
                f"--max-off-heap-memory={IMPORTER_OFF_HEAP}",
                f"--report-file={cwd / 'import.report'}",
                *arguments,
            ],
            env={**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.home / "conf")},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            umask=0o077,
        )
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            on_line(lines[-1])
        if proc.wait() != 0:
            said = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith(("at ", "..."))]
            # Why: the deepest cause (--verbose prints them), else what follows "IMPORT FAILED"
            # but for lines that say nothing of this failure.
            after = next((k for k, ln in enumerate(said) if ln.startswith("IMPORT FAILED")), len(said))
            boiler = ("Data statistics", "Peak memory", "WARNING Import failed", "Error importing", "Run with")
            why = [ln for ln in said[after + 1 :] if not ln.startswith(boiler)]
            errors = [
                ln for ln in said if re.search(r"Exception|Error|error|failed|Failed", ln) and "--verbose" not in ln
            ]
            causes = [ln.removeprefix("Caused by: ") for ln in said if ln.startswith("Caused by: ")]
            reason = (causes[-1:] or why or errors[-1:] or said[-1:] or ["no output"])[0]
            raise CircuitstoreError(f"Neo4j's importer failed (exit status {proc.returncode}): {reason}")

    def _ensure_password(self, java: str, found: jars.Jars) -> None:
        """On first start: generate a password, keep it 0600, and make it the neo4j user's."""
        if (self.home / "data" / "dbms" / "auth.ini").exists():
            if self.password_file.exists():
                return
            raise CircuitstoreError(
                f"{self.password_file} is missing but the server in {self.home} already has a "
                "password; restore the file, or start afresh with another --home"
            )
        if not self.password_file.exists():
            alphabet = string.ascii_letters + string.digits  # no leading '-' or quotes for the admin tool
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write("".join(secrets.choice(alphabet) for _ in range(32)) + "\n")
        # `@file` makes the admin tool read the password from the file, so it never shows in `ps`.
        proc = subprocess.run(
            [
                java,
                "-cp",
                found.classpath,
                "org.neo4j.cli.AdminTool",
                "dbms",
                "set-initial-password",
                f"@{self.password_file}",
            ],
            env={**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.home / "conf")},
            capture_output=True,
            text=True,
            umask=0o077,
        )
        if proc.returncode != 0:
            raise CircuitstoreError(f"could not set the initial password: {_last_line(proc.stdout + proc.stderr)}")

    def _wait_until_ready(
        self,
        pid: int,
        settings: Settings,
        timeout: float,
        proc: subprocess.Popen | None = None,
        meanwhile: Callable[[], object] = lambda: None,
    ) -> None:
        """Wait until Bolt answers and then HTTP (Browser's address works once this returns),
        calling `meanwhile` between looks."""
        deadline = time.monotonic() + timeout
        port = settings.bolt_port
        while not (bolt_answers(port) and http_answers(settings.http_port)):
            meanwhile()
            exited = proc.poll() is not None if proc else not _alive(pid)
            if exited:
                self._pid_file.unlink(missing_ok=True)
                raise CircuitstoreError(f"Neo4j failed to start; the end of {self.console_log}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise CircuitstoreError(
                    f"Neo4j (pid {pid}) did not answer on Bolt port {port} and HTTP port {settings.http_port} "
                    f"within {timeout:.0f}s; the end of {self.console_log}:\n{self.log_tail()}"
                )
            time.sleep(0.25)
        meanwhile()

    def log_tail(self, lines: int = 8) -> str:
        """The last lines of the console log, Java stack frames left out."""
        try:
            text = self.console_log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        keep = [ln for ln in text if ln.strip() and not ln.lstrip().startswith(("at ", "..."))]
        return "\n".join("  " + ln for ln in keep[-lines:])


# Flags Neo4j needs on Java 17+ (netty's direct buffers, the page cache's file channels).
_JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
)


def _describe(settings: Settings, names: list[str]) -> str:
    """`heap 3g (auto), bolt port 7687`: the named settings, as the server gets them."""
    shown = {"heap": f"{settings.jvm_heap} (auto)" if settings.heap == "auto" else settings.heap}
    return ", ".join(f"{name.replace('_', ' ')} {shown.get(name, getattr(settings, name))}" for name in names)


class _RecoveryLog:
    """What debug.log says, from a byte offset on, about recovering the store after a crash:
    its start, how far it is and what it did, each as one line for the user."""

    _SAID = (
        (re.compile(r"Recovery required from position"), lambda m: "recovering the store after an unclean stop"),
        (re.compile(r"\[o\.n\.k\.r\.Recovery\].*?(\d+)% completed"), lambda m: f"recovering: {m[1]}% done"),
        (
            re.compile(r"Recovery in '\w+' mode completed\..*?(\d+) transactions applied.*?Time spent: ([^.]+)"),
            lambda m: f"recovered: {m[1]} transactions replayed in {m[2]}",
        ),
    )

    def __init__(self, path: Path, offset: int) -> None:
        self.path, self.offset, self.partial = path, offset, b""

    def news(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        found = []
        for line in lines:
            text = line.decode("utf-8", "replace")
            for pattern, say in self._SAID:
                m = pattern.search(text)
                if m:
                    found.append(say(m))
        return found


def http_answers(port: int, host: str = "127.0.0.1") -> bool:
    """True if an HTTP server on host:port answers a request (with any status)."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            return sock.recv(5) == b"HTTP/"
    except OSError:
        return False


def bolt_answers(port: int, host: str = "127.0.0.1") -> bool:
    """True if a Bolt server on host:port completes the version handshake."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(_BOLT_HELLO)
            reply = sock.recv(4)
    except OSError:
        return False
    return len(reply) == 4 and reply != bytes(4)


def _make_private(home: Path) -> None:
    """No access for group or others anywhere under `home` (a home made by an older version had
    them: 0755 folders, 0644 files); a no-op once it is private."""
    for root, dirs, files in os.walk(home):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            try:
                mode = os.lstat(name).st_mode
                if mode & 0o077 and not stat.S_ISLNK(mode):
                    os.chmod(name, stat.S_IMODE(mode) & 0o700)
            except FileNotFoundError:  # a log rotated away meanwhile
                pass


def _write_private(path: Path, text: str) -> None:
    """Write a file of the home, readable by its user alone."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also an existing file
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home and (Path(home) / "bin" / "java").exists() else shutil.which("java")
    if java is None:
        raise CircuitstoreError(
            "Java (17 or 21) is needed to run the local Neo4j server and was not found "
            "(neither JAVA_HOME nor PATH); install it (e.g. apt install openjdk-17-jre-headless) "
            "or point NEO4J_URI at another Neo4j"
        )
    return java


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Neo4j itself binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise CircuitstoreError(
                    f"port {port} on 127.0.0.1 is taken by another program; stop it, or start "
                    f"with other ports (--bolt-port / --http-port)"
                ) from None
            raise


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """An exited process its parent (another process, say a test run) has not reaped yet. The
    JVM's main thread ends before its others do: the process only is a zombie once every thread is,
    until then it still holds its ports and store files."""
    try:
        tasks = [Path(f"/proc/{pid}/task/{tid}/stat").read_text() for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return False
    return all(stat.rpartition(")")[2].split()[0] == "Z" for stat in tasks)


def _disk_usage(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"
