"""The local server's life: start, status, start again, stop, data kept, faults named.

These start their own servers in temporary homes on free ports, never the test server that
`store` uses nor the user's own.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import socket
import stat
import time
import urllib.request
from importlib import resources
from pathlib import Path

import pytest

from circuitstore.formats import read_graph
from circuitstore.neo4j_driver import neo4j
from circuitstore.queries import list_queries
from circuitstore.schema import migrate
from circuitstore.server import LocalServer, NeedsRestart, connect, jars
from circuitstore.server.local import Settings, auto_pagecache, bolt_answers, machine_heap, machine_memory
from circuitstore.store import store_graph
from tests.clirun import assert_one_line_error, cli, free_port
from tests.conftest import TEST_HOME
from tests.data import GRAPHS_DIR

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="needs Java to run a local server")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> LocalServer:
    srv = LocalServer(tmp_path_factory.mktemp("home"))
    # 1g, not the default (auto): the machine is shared with the test server
    assert srv.start(bolt_port=free_port(), http_port=free_port(), heap="1g") is True
    yield srv
    srv.stop()


def test_status_after_start(server):
    status = cli("--home", str(server.home), "server", "status", "--json")
    s = json.loads(status.stdout)
    settings = server.settings()
    assert s["running"] is True and s["state"] == "running"
    assert s["bolt"] == f"bolt://127.0.0.1:{settings.bolt_port}"
    assert s["browser"] == f"http://127.0.0.1:{settings.http_port}/browser/"
    assert s["version"] == jars.version("neo4j") and s["version"].startswith("5.26.")
    assert s["store_bytes"] > 0
    on_disk = {
        part: sum(f.stat().st_blocks * 512 for f in (server.home / "data" / part).rglob("*") if f.is_file())
        for part in ("databases", "transactions")
    }
    assert 0 < s["database_bytes"] == on_disk["databases"]
    assert 0 < s["tx_log_bytes"] <= on_disk["transactions"]  # the logs may grow between the two
    assert s["database_bytes"] + s["tx_log_bytes"] <= s["store_bytes"]
    assert s["pagecache_wanted"] == f"{-(-12 * on_disk['databases'] // (10 * 2**20))}m"
    text = cli("--home", str(server.home), "server", "status").stdout
    assert re.search(r"^state +running \(pid \d+\)", text, re.M) and "MiB" in text
    assert re.search(r"^sizes +databases [\d.]+ MiB, transaction logs [\d.]+ MiB", text, re.M)
    assert f"a page cache of {s['pagecache_wanted']} holds the store" in text


def test_transaction_logs_are_bounded(server):
    with connect(server.bolt_uri, password=server.password()) as driver:
        records, _, _ = driver.execute_query(
            "SHOW SETTINGS YIELD name, value WHERE name STARTS WITH 'db.tx_log.rotation' OR name STARTS WITH "
            "'db.checkpoint' RETURN name, value"
        )
    settings = {r["name"]: r["value"] for r in records}
    assert settings["db.tx_log.rotation.retention_policy"] == "256M size"
    assert settings["db.tx_log.rotation.size"] == str(64 * 2**20) or settings["db.tx_log.rotation.size"] == "64.00MiB"
    assert settings["db.checkpoint"] == "VOLUME"


def test_memory_is_bounded(server):
    cmdline = Path(f"/proc/{server.pid()}/cmdline").read_bytes().split(b"\0")
    assert b"-Xmx1g" in cmdline
    # A store this small gets the least an automatic page cache is: 512 MiB.
    assert server.sizes()["database_bytes"] * 1.2 < 512 * 2**20
    assert "server.memory.pagecache.size=512m" in (server.home / "conf" / "neo4j.conf").read_text()
    status = json.loads(cli("--home", str(server.home), "server", "status", "--json").stdout)
    assert status["pagecache"] == "512m" and status["pagecache_setting"] == "auto"


def test_automatic_page_cache_holds_the_store_within_the_memory_the_heap_leaves():
    mib = 2**20
    half_left = (machine_memory() - 2**30) // 2 // mib  # of a machine running a 1g heap
    assert auto_pagecache(0, "1g") == "512m"
    assert auto_pagecache(1000 * mib, "1g") == f"{min(1200, half_left)}m"  # the store and a fifth
    assert auto_pagecache(1000 * mib + 1, "1g") == f"{min(1201, half_left)}m"  # whole MiB, rounded up
    assert auto_pagecache(2**50, "1g") == f"{half_left}m"


def test_password_is_generated_private_and_works(server):
    password = server.password()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", password)
    assert stat.S_IMODE(server.password_file.stat().st_mode) == 0o600
    assert password != LocalServer(TEST_HOME).password()  # each home draws its own
    with connect(server.bolt_uri, password=password) as driver:
        assert driver.execute_query("RETURN 1 AS one").records[0]["one"] == 1


def readable_by_others(home: Path) -> list[str]:
    """Everything under `home` that its group or other users may read, write or enter."""
    paths = [home, *home.rglob("*")]
    return [f"{p} {stat.S_IMODE(p.lstat().st_mode):o}" for p in paths if p.lstat().st_mode & 0o077]


def test_the_home_is_private_after_start_and_an_import(server):
    graph = read_graph(GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json")
    with connect(server.bolt_uri, password=server.password()) as driver:
        migrate(driver)
        store_graph(driver, graph)
    assert stat.S_IMODE(server.home.stat().st_mode) == 0o700
    assert (server.home / "data" / "dbms" / "auth.ini").exists() and any((server.home / "logs").iterdir())
    assert readable_by_others(server.home) == []


def test_every_command_talks_to_the_server_in_home(server, tmp_path):
    """--home (or CIRCUITSTORE_HOME) picks the local server for every command, not only `server`."""
    home = str(server.home)
    by_option = cli("--home", home, "cypher", "RETURN 1 AS one", "--json")
    assert by_option.returncode == 0 and json.loads(by_option.stdout) == [{"one": 1}], by_option.stderr
    by_env = cli("graphs", "--json", env={"CIRCUITSTORE_HOME": home})
    assert by_env.returncode == 0 and isinstance(json.loads(by_env.stdout), list), by_env.stderr
    # another home, never started: its own password file is missing, whatever CIRCUITSTORE_HOME says
    elsewhere = tmp_path / "elsewhere"
    proc = cli("--home", str(elsewhere), "graphs", env={"CIRCUITSTORE_HOME": home})
    assert_one_line_error(proc, "no password yet", str(elsewhere / "password"))


def test_wrong_password_is_one_line(server):
    proc = cli("cypher", "RETURN 1", env={"NEO4J_URI": server.bolt_uri, "NEO4J_PASSWORD": "not-it"})
    assert_one_line_error(proc, "refused", "wrong password")


def test_start_when_running_does_nothing(server):
    pid = server.pid()
    assert server.start() is False
    proc = cli("--home", str(server.home), "server", "start")
    assert proc.returncode == 0 and "already running" in proc.stdout
    assert server.pid() == pid


def test_other_ports_while_running_are_refused(server):
    port = server.settings().bolt_port
    with pytest.raises(NeedsRestart, match=f"runs with bolt port {port}; bolt port .* takes effect on a restart"):
        server.start(bolt_port=free_port())


def test_other_memory_while_running_takes_effect_on_restart(server):
    pid = server.pid()
    home = str(server.home)
    proc = cli("--home", home, "server", "start", "--heap", "2g", "--pagecache", "256m")
    assert_one_line_error(proc, "runs with heap 1g, pagecache auto; heap 2g, pagecache 256m take effect on a restart")
    assert server.pid() == pid and server.settings().heap == "1g"  # nothing happened
    proc = cli("--home", home, "server", "start", "--heap", "2g", "--restart")
    assert proc.returncode == 0 and "started" in proc.stdout, proc.stderr
    assert server.pid() != pid and b"-Xmx2g" in Path(f"/proc/{server.pid()}/cmdline").read_bytes().split(b"\0")
    assert json.loads(cli("--home", home, "server", "status", "--json").stdout)["heap"] == "2g"
    # start returns (and prints Browser's address) only once HTTP answers too
    with urllib.request.urlopen(server.browser_url, timeout=5) as reply:
        assert reply.status == 200
    assert cli("--home", home, "server", "start", "--heap", "1g", "--restart").returncode == 0


def test_the_default_heap_is_an_eighth_of_the_memory():
    meminfo = Path("/proc/meminfo").read_text()
    kib = int(re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.M)[1])
    limit = Path("/sys/fs/cgroup/memory.max")
    if limit.exists() and limit.read_text().strip().isdigit():
        kib = min(kib, int(limit.read_text()) // 1024)
    eighth = kib / 8 / 2**20
    assert machine_heap() == f"{min(8, max(1, round(eighth)))}g"
    assert Settings().heap == "auto" and Settings().jvm_heap == machine_heap()


def test_browser_and_apoc_load(server):
    with urllib.request.urlopen(server.browser_url, timeout=30) as reply:
        assert reply.status == 200 and b"Neo4j Browser" in reply.read()
    with connect(server.bolt_uri, password=server.password()) as driver:
        assert driver.execute_query("RETURN apoc.version() AS v").records[0]["v"] == jars.version("apoc")


def test_apoc_reads_json_and_load_csv_still_works(server):
    """APOC's libraries resolved whole: apoc.load.json works, Neo4j's own LOAD CSV too (over
    file: and http:, which APOC's URL handler serves), files only from import/, and no start
    logs a class that failed to load or a procedure left sandboxed."""
    (server.home / "import" / "t.json").write_text(json.dumps({"a": [1, 2.5, "x"]}))
    (server.home / "import" / "t.csv").write_text("name,n\nx,1\ny,2\n")
    http = server.settings().http_port
    with connect(server.bolt_uri, password=server.password()) as driver:
        loaded = driver.execute_query("CALL apoc.load.json('file:///t.json') YIELD value RETURN value")
        assert [r["value"] for r in loaded.records] == [{"a": [1, 2.5, "x"]}]
        rows = driver.execute_query("LOAD CSV WITH HEADERS FROM 'file:///t.csv' AS row RETURN row.name, row.n")
        assert [list(r.values()) for r in rows.records] == [["x", "1"], ["y", "2"]]
        # any page over HTTP: Browser's own
        lines = driver.execute_query(f"LOAD CSV FROM 'http://127.0.0.1:{http}/browser/' AS row RETURN count(row) AS n")
        assert lines.records[0]["n"] > 0
        with pytest.raises(neo4j.exceptions.ClientError):
            driver.execute_query("CALL apoc.load.json('file:///../password') YIELD value RETURN value")
        assert driver.execute_query("CALL apoc.meta.stats() YIELD nodeCount RETURN nodeCount").records
        telemetry = driver.execute_query("SHOW SETTINGS YIELD name, value WHERE name = 'client.allow_telemetry'")
        assert [r["value"] for r in telemetry.records] == ["false"]  # Browser shows no usage banner
    debug = (server.home / "logs" / "debug.log").read_text()
    assert "Failed to load" not in debug and "sandboxed" not in debug


def test_browser_serves_the_style_and_guide_and_applies_them_at_login(server):
    """Beside Browser's own files, the server serves the package's style sheet and a guide with
    each query's example; Browser reads its post-connect commands from dbms.clientConfig()."""
    base = server.browser_url.removesuffix("/browser/")
    with urllib.request.urlopen(f"{base}/browser/circuitstore/circuitstore.grass", timeout=30) as reply:
        assert reply.read().decode() == (resources.files("circuitstore.server") / "circuitstore.grass").read_text()
    with urllib.request.urlopen(f"{base}/browser/circuitstore/guide.html", timeout=30) as reply:
        guide = html.unescape(reply.read().decode())
    assert all(q.example in guide and q.purpose in guide for q in list_queries())
    with connect(server.bolt_uri, password=server.password()) as driver:
        config = {r["name"]: r["value"] for r in driver.execute_query("CALL dbms.clientConfig()").records}
    commands = [c.strip() for c in config["browser.post_connect_cmd"].split(";")]
    assert commands == [
        f"style {base}/browser/circuitstore/circuitstore.grass",
        f"play {base}/browser/circuitstore/guide.html",
        "config autoComplete: false",
    ]
    assert "127.0.0.1" in config["browser.remote_content_hostname_whitelist"].split(",")


@pytest.mark.slow
def test_cli_start_warms_every_query_in_the_background(tmp_path):
    """`server start` returns at once; the warm-up it leaves behind runs each text once."""
    home = tmp_path / "home"
    proc = cli("--home", str(home), "server", "start", "--bolt-port", str(free_port()), "--http-port", str(free_port()))
    try:
        assert proc.returncode == 0, proc.stderr
        log = home / "logs" / "warm-up.log"
        expected = sum(2 + len(q.checks) for q in list_queries())
        deadline = time.monotonic() + 600
        while len(log.read_text().splitlines()) < expected and time.monotonic() < deadline:
            time.sleep(1)
        lines = log.read_text().splitlines()
        assert len(lines) == expected and not [line for line in lines if "failed" in line], lines
    finally:
        cli("--home", str(home), "server", "stop")


def test_data_survives_stop_and_start(server):
    with connect(server.bolt_uri, password=server.password()) as driver:
        driver.execute_query("CREATE (:Kept {n: $n})", n=42)
    proc = cli("--home", str(server.home), "server", "stop")
    assert proc.returncode == 0 and proc.stdout.strip() == "stopped"
    assert not bolt_answers(server.settings().bolt_port)
    assert json.loads(cli("--home", str(server.home), "server", "status", "--json").stdout)["running"] is False
    assert cli("--home", str(server.home), "server", "stop").stdout.strip() == "not running"
    # a home an older circuitstore left open to everyone becomes private on the next start
    for path in [server.home, *server.home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert server.start() is True
    assert readable_by_others(server.home) == []
    with connect(server.bolt_uri, password=server.password()) as driver:
        assert driver.execute_query("MATCH (k:Kept) RETURN k.n AS n").records[0]["n"] == 42


def test_a_start_after_a_crash_says_it_recovers_and_how_far(server):
    with connect(server.bolt_uri, password=server.password()) as driver:
        driver.execute_query("UNWIND range(1, 50000) AS i CREATE (:Crashed {n: i})")
    pid = server.pid()
    os.kill(pid, signal.SIGKILL)
    while server.pid() is not None:
        time.sleep(0.1)
    proc = cli("--home", str(server.home), "server", "start")
    assert proc.returncode == 0, proc.stderr
    said = proc.stderr.splitlines()
    assert said[0] == "Neo4j did not stop cleanly last time; it checks and recovers its store first"
    assert "recovering the store after an unclean stop" in said
    assert re.fullmatch(r"recovered: \d+ transactions replayed in .+", said[-1]), said
    with connect(server.bolt_uri, password=server.password()) as driver:
        assert driver.execute_query("MATCH (c:Crashed) RETURN count(c) AS n").records[0]["n"] == 50000
    assert cli("--home", str(server.home), "server", "stop").returncode == 0
    assert cli("--home", str(server.home), "server", "start").stderr == ""  # a clean stop: nothing to say


def test_a_taken_port_is_named(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        proc = cli(
            "--home", str(tmp_path), "server", "start", "--bolt-port", str(port), "--http-port", str(free_port())
        )
    assert_one_line_error(proc, f"port {port}", "taken")
    assert not (tmp_path / "data").exists()  # refused before anything was set up


def test_a_bad_memory_size_is_one_line(tmp_path):
    proc = cli("--home", str(tmp_path), "server", "start", "--heap", "lots")
    assert_one_line_error(proc, "--heap expects auto (the default) or a size like 3g, got 'lots'")
    proc = cli("--home", str(tmp_path), "server", "start", "--pagecache", "half")
    assert_one_line_error(proc, "--pagecache expects auto (the default) or a size like 2g, got 'half'")


def test_a_server_that_fails_to_start_shows_its_log(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "databases").touch()  # where the store directory must go
    proc = cli(
        "--home", str(tmp_path), "server", "start", "--bolt-port", str(free_port()), "--http-port", str(free_port())
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    first, *tail = proc.stderr.strip().splitlines()
    assert first == f"error: Neo4j failed to start; the end of {tmp_path / 'logs' / 'console.log'}:"
    assert any("FileAlreadyExistsException" in line for line in tail)
    assert LocalServer(tmp_path).pid() is None


def test_missing_java_is_named(tmp_path):
    proc = cli("--home", str(tmp_path), "server", "start", env={"PATH": str(tmp_path), "JAVA_HOME": ""})
    assert_one_line_error(proc, "Java", "not found")


def test_missing_maven_is_named(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").symlink_to(shutil.which("java"))
    proc = cli(
        "--home",
        str(tmp_path / "home"),
        "server",
        "start",
        "--bolt-port",
        str(free_port()),
        "--http-port",
        str(free_port()),
        env={"PATH": str(bin_dir), "CIRCUITSTORE_CACHE": str(tmp_path / "empty-cache")},
    )
    assert_one_line_error(proc, "Maven (mvn)", "not found")
