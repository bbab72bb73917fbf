"""`circuitstore cypher` and `db migrate` against the test database, and the connection errors."""

from __future__ import annotations

import json

from circuitstore import schema
from tests.clirun import assert_one_line_error, cli, free_port


def test_cypher_with_params_as_table_and_json(store, neo4j_target):
    made = cli(
        "cypher",
        "CREATE (f:Feature {id: $id, layer: $layer, label: $label}) RETURN f.id AS id",
        "--param",
        "id=t/1/2",
        "--param",
        "layer=1",
        "--param",
        "label=capital cities",
        env=neo4j_target,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines() == ["id", "t/1/2", "1 nodes created, 3 properties set, 1 labels added"]
    rows = json.loads(
        cli(
            "cypher",
            "MATCH (f:Feature {layer: $layer}) RETURN f, f.layer + 1 AS next",
            "-p",
            "layer=1",
            "--json",
            env=neo4j_target,
        ).stdout
    )
    assert rows == [{"f": {"_labels": ["Feature"], "id": "t/1/2", "layer": 1, "label": "capital cities"}, "next": 2}]


def test_cypher_reads_stdin_and_uses_the_fulltext_index(store, neo4j_target):
    store.execute_query("CREATE (:Feature {id: 'a', label: 'Texas capital'}), (:Feature {id: 'b', label: 'sports'})")
    query = "CALL db.index.fulltext.queryNodes('feature_label', $q) YIELD node RETURN node.id AS id"
    proc = cli("cypher", "-", "-p", "q=capital", "--json", env=neo4j_target, input_text=query)
    assert json.loads(proc.stdout) == [{"id": "a"}]


def test_db_migrate_reports_the_version(neo4j_target):
    proc = cli("db", "migrate", "--json", env=neo4j_target)
    assert json.loads(proc.stdout) == {"schema_version": schema.latest()}


def test_bad_cypher_is_one_line(neo4j_target):
    assert_one_line_error(cli("cypher", "RETRUN 1", env=neo4j_target), "Invalid input 'RETRUN'", "SyntaxError")


def test_bad_param_is_one_line(neo4j_target):
    assert_one_line_error(cli("cypher", "RETURN 1", "--param", "novalue", env=neo4j_target), "KEY=VALUE")


def test_unreachable_neo4j_is_one_line():
    uri = f"bolt://127.0.0.1:{free_port()}"
    assert_one_line_error(
        cli("cypher", "RETURN 1", env={"NEO4J_URI": uri, "NEO4J_PASSWORD": "x"}), f"cannot reach Neo4j at {uri}"
    )
    assert_one_line_error(cli("--uri", uri, "db", "migrate", env={"NEO4J_PASSWORD": "x"}), "cannot reach")


def test_bad_uri_is_one_line():
    assert_one_line_error(
        cli("cypher", "RETURN 1", env={"NEO4J_URI": "http://127.0.0.1:7474", "NEO4J_PASSWORD": "x"}), "bad Neo4j URI"
    )


def test_local_server_never_started_is_one_line(tmp_path):
    assert_one_line_error(
        cli("cypher", "RETURN 1", env={"CIRCUITSTORE_HOME": str(tmp_path)}),
        "no password yet",
        "circuitstore server start",
    )


def test_the_local_password_is_not_sent_to_another_server():
    uri = f"bolt://127.0.0.1:{free_port()}"
    assert_one_line_error(cli("cypher", "RETURN 1", env={"NEO4J_URI": uri}), f"no password for {uri}")


def test_an_empty_query_is_one_line(neo4j_target):
    for query in ("", "   \n"):
        assert_one_line_error(cli("cypher", query, env=neo4j_target), "no query given")
    assert_one_line_error(cli("cypher", "-", env=neo4j_target, input_text=""), "no query given")


def test_an_integer_beyond_64_bits_is_one_line(neo4j_target):
    for value in ("99999999999999999999", "[1, 99999999999999999999]", '{"a": -99999999999999999999}'):
        assert_one_line_error(cli("cypher", "RETURN $x", "-p", f"x={value}", env=neo4j_target), "beyond 64 bits")
    fits = cli("cypher", "RETURN $x AS x", "-p", f"x={2**63 - 1}", "--json", env=neo4j_target)
    assert json.loads(fits.stdout) == [{"x": 2**63 - 1}]


def test_running_out_of_transaction_memory_is_one_line_without_retries(neo4j_target):
    hungry = (
        "WITH [x IN range(1, 200000) | toFloat(x)] AS xs UNWIND range(1, 1000) AS i "
        "WITH xs, i ORDER BY i LIMIT 1000 RETURN count(*)"
    )
    proc = cli("cypher", hungry, env=neo4j_target)
    assert_one_line_error(proc, "MemoryPoolOutOfMemoryError")
    assert "retried" not in proc.stderr


def test_terminal_escapes_are_shown_escaped_and_json_stays_exact(store, neo4j_target):
    text = "\x1b[2J\x1b]0;owned\x07 NUL\x00 del\x7f csi\x9b line\u2028break"
    made = cli("cypher", "CREATE (:Feature {id: 'x', label: $t})", "-p", f"t={json.dumps(text)}", env=neo4j_target)
    assert made.returncode == 0, made.stderr
    table = cli("cypher", "MATCH (f:Feature) RETURN f.label AS label", env=neo4j_target).stdout
    assert not any(ch in table for ch in "\x1b\x07\x00\x7f\x9b\u2028")
    assert "\\x1b[2J\\x1b]0;owned\\x07 NUL\\x00 del\\x7f csi\\x9b line\\u2028break" in table
    as_json = cli("cypher", "MATCH (f:Feature) RETURN f.label AS label", "--json", env=neo4j_target).stdout
    assert not any(ch in as_json for ch in "\x1b\x07\x00\x7f\x9b\u2028")
    assert json.loads(as_json) == [{"label": text}]
