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
