"""`circuitstore browser`: the URL, user and password file it prints let one log in, and for
another Neo4j it prints the commands to paste (tests/test_browser.py runs them in Chromium)."""

from __future__ import annotations

import urllib.request

from circuitstore.server import connect
from tests.clirun import assert_one_line_error, cli
from tests.conftest import TEST_HOME


def test_browser_prints_a_url_and_login_that_work(neo4j_target):
    proc = cli("browser", "--no-open", env={"CIRCUITSTORE_HOME": str(TEST_HOME)})
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line and not line.startswith("At"))
    url, bolt = lines["Browser"].split("?dbms=")
    with urllib.request.urlopen(url, timeout=30) as reply:
        assert b"Neo4j Browser" in reply.read()
    password = open(lines["password"].removeprefix("in ")).read().strip()
    with connect(bolt, user=lines["user"], password=password) as driver:
        assert driver.execute_query("RETURN 1 AS one").records[0]["one"] == 1
    style, guide = (
        word.rstrip(".") for word in proc.stdout.split() if word.startswith("http") and "circuitstore/" in word
    )
    for asset in (style, guide):
        with urllib.request.urlopen(asset, timeout=30) as reply:
            assert reply.status == 200 and reply.read()


def test_browser_without_a_running_server_is_one_line(tmp_path):
    assert_one_line_error(
        cli("browser", "--no-open", env={"CIRCUITSTORE_HOME": str(tmp_path)}), "not running", "server start"
    )


def test_browser_for_another_neo4j_prints_the_commands_to_paste():
    proc = cli("browser", env={"NEO4J_URI": "bolt://neo4j.example:7687"})
    assert proc.returncode == 0, proc.stderr
    commands = [line for line in proc.stdout.splitlines() if line.startswith(":")]
    assert [c.split()[0] for c in commands] == [":style", ":play"]
    assert "node.Logit {" in commands[0] and commands[1].endswith("/browser/circuitstore/guide.html")
