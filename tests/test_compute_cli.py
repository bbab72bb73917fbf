"""`circuitstore ingest` on a tiny saved model against the real test Neo4j, and the promise
that the CLI imports torch only inside the commands that compute."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from circuitstore.cli import main
from circuitstore.compute import AttributionSettings, Target, compute_graph, graph_id, load_model, load_transcoders
from circuitstore.formats import read_graph
from circuitstore.store import load_graph
from tests.database import value
from tests.synthetic import gemma_style, save_tiny


def words(prompt):
    """A prompt's tokens under the tiny models' word tokenizer: GPT-2's split, a space kept with
    the word after it."""
    first, *rest = prompt.split()
    return (first, *(f" {w}" for w in rest))


SETTINGS = ["--max-feature-nodes", "25", "--node-threshold", "0.9", "--edge-threshold", "0.95", "--batch-size", "8"]


def test_cli_import_leaves_torch_alone():
    code = "import sys, circuitstore.cli; sys.exit('torch' in sys.modules or 'circuitstore.compute' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return save_tiny(
        tmp_path_factory.mktemp("cli"), gemma_style(n_layers=2), "jumprelu_skip", "hook_mlp_in", tokenizer=True
    )


def test_ingest_stores_skips_and_reports(store, neo4j_target, tiny, tmp_path):
    model_dir, tc_dir = tiny
    prompts_file = tmp_path / "prompts.txt"
    prompts_file.write_text("dallas is a city\n\nthe opposite of small is\n")
    too_long = "the capital of texas is austin and the capital of the state is"
    args = [
        "ingest",
        "the capital of texas is",
        "",
        too_long,
        "--prompts",
        str(prompts_file),
        "--model",
        str(model_dir),
        "--transcoders",
        str(tc_dir),
        "--out",
        str(tmp_path / "out"),
        *SETTINGS,
    ]

    # The two prompts of 6 tokens share passes (as they would by default).
    first = CliRunner().invoke(main, [*args, "--prompts-per-batch", "2"], env=neo4j_target, catch_exceptions=False)
    assert first.exit_code == 1
    assert first.stdout.strip().splitlines()[-1] == "3 stored, 0 skipped, 2 failed"
    assert "prompt 2/5 ('')" in first.stderr and "empty prompt" in first.stderr
    assert "14 tokens, more than the model's context of 12" in first.stderr

    model = load_model(model_dir)
    tcs = load_transcoders(tc_dir, model)
    settings = AttributionSettings(max_feature_nodes=25, node_threshold=0.9, edge_threshold=0.95, batch_size=8)
    for prompt in ("the capital of texas is", "dallas is a city", "the opposite of small is"):
        expected = compute_graph(model, tcs, prompt, settings)
        gid = graph_id(model, tcs, prompt, settings)
        assert expected.meta.id == gid
        for got in (load_graph(store, gid), read_graph(tmp_path / "out" / f"{gid}.json")):
            assert {n.id for n in got.nodes} == {n.id for n in expected.nodes}
            want = {(s, t): w for s, t, w in expected.edges()}
            have = {(s, t): w for s, t, w in got.edges()}
            assert have.keys() == want.keys()
            assert np.allclose([have[k] for k in want], list(want.values()), rtol=1e-5, atol=1e-7)
            assert got.meta.pruning["node_threshold"] == 0.9 and got.meta.transcoder_set == tcs.name
            assert got.meta.prompt == prompt and got.meta.prompt_tokens == ("<bos>", *words(prompt))
            assert got.meta.generation == expected.meta.generation
            # What loads the model and transcoders again: their directories, made absolute.
            assert got.meta.generation["model_spec"] == str(model_dir.resolve())
            assert got.meta.generation["transcoders_spec"] == str(tc_dir.resolve()) == tcs.name

    again = CliRunner().invoke(main, args, env=neo4j_target, catch_exceptions=False)
    assert again.exit_code == 1
    assert again.stdout.strip().splitlines()[-1] == "0 stored, 3 skipped, 2 failed"


def test_the_conventions_are_options_recorded_on_the_graph(store, neo4j_target, tiny):
    model_dir, tc_dir = tiny
    base = ["ingest", "dallas is a city", "--model", str(model_dir), "--transcoders", str(tc_dir), *SETTINGS]
    for options in ([], ["--position-0-sources", "--token-vectors", "resid_pre"]):
        result = CliRunner().invoke(main, base + options, env=neo4j_target, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    rows = value(
        store,
        "MATCH (g:Graph) WITH g ORDER BY g.position_0_sources "
        "RETURN collect([g.position_0_sources, g.token_vectors, g.influence_over])",
    )
    assert rows == [[False, "embed", None], [True, "resid_pre", None]]
    model = load_model(model_dir)
    settings = AttributionSettings(max_feature_nodes=25, node_threshold=0.9, edge_threshold=0.95, batch_size=8)
    optional = replace(settings, position_0_sources=True, token_vectors="resid_pre")
    tcs = load_transcoders(tc_dir, model)
    # The conventions are part of the graph id: both graphs are stored, each under its own.
    ids = {graph_id(model, tcs, "dallas is a city", s) for s in (settings, optional)}
    assert len(ids) == 2 and set(value(store, "MATCH (g:Graph) RETURN collect(g.id)")) == ids


def test_ingest_rejects_a_mismatched_set_before_computing(neo4j_target, tiny, tmp_path):
    model_dir, _ = tiny
    _, other_tc = save_tiny(tmp_path, gemma_style(n_layers=3), "relu")
    result = CliRunner().invoke(
        main, ["ingest", "a city", "--model", str(model_dir), "--transcoders", str(other_tc)], env=neo4j_target
    )
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"error: {str(other_tc.resolve())!r} has transcoders for layer(s) [2], but the model has 2 layers"
    )


def test_chosen_targets_are_the_graphs_logits(store, neo4j_target, tiny, tmp_path):
    model_dir, tc_dir = tiny
    model = load_model(model_dir)
    direction = [float(v) for v in np.linspace(-1, 1, model.cfg.d_model)]
    (tmp_path / "north.json").write_text(json.dumps(direction))
    args = ["ingest", "the capital of texas is", "--model", str(model_dir), "--transcoders", str(tc_dir), *SETTINGS]
    args += ["--target-vector", str(tmp_path / "north.json"), "--logit-diff", " austin", " dallas"]
    args += ["--target", " city", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(main, args, env=neo4j_target, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    settings = AttributionSettings(
        max_feature_nodes=25,
        node_threshold=0.9,
        edge_threshold=0.95,
        batch_size=8,
        targets=(
            Target("token", (" city",)),
            Target("diff", (" austin", " dallas")),
            Target("vector", vector=direction, label="north"),
        ),
    )
    tcs = load_transcoders(tc_dir, model)
    gid = graph_id(model, tcs, "the capital of texas is", settings)
    expected = compute_graph(model, tcs, "the capital of texas is", settings)
    for got in (load_graph(store, gid), read_graph(tmp_path / "out" / f"{gid}.json")):
        logits = [n for n in got.nodes if n.kind == "logit"]
        assert [n.text for n in logits] == [" city", "logit( austin)-logit( dallas)", "north"]
        assert [n.id for n in logits] == [n.id for n in expected.nodes if n.kind == "logit"]
        assert got.meta.generation["targets"] == expected.meta.generation["targets"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"x": 1}')
    result = CliRunner().invoke(main, [*args[:-2], "--target-vector", str(bad)], env=neo4j_target)
    assert result.exit_code == 2 and "holds no JSON list of numbers" in result.output
    # A bad target is refused before any prompt is computed.
    result = CliRunner().invoke(main, [*args[:6], "--logit-diff", " austin", " texas is"], env=neo4j_target)
    assert result.exit_code == 1 and "\nerror: target ' texas is' is 2 tokens" in result.stderr, result.output


@pytest.mark.parametrize(
    "args,problem",
    [
        ([], "give PROMPT arguments or --prompts FILE"),
        (["a prompt", "--node-threshold", "2"], "node_threshold must lie in (0, 1]"),
        (["a prompt"], "cannot reach Neo4j"),
    ],
    ids=["no prompts", "bad setting", "no server"],
)
def test_ingest_checks_its_arguments_and_the_server_before_loading_torch(args, problem):
    """The usage error comes at once, not after the seconds that torch and a model take."""
    code = (
        "import sys, json; from click.testing import CliRunner; from circuitstore.cli import main; "
        f"r = CliRunner().invoke(main, ['ingest', *{args!r}], env={{'NEO4J_URI': 'bolt://127.0.0.1:1', "
        "'NEO4J_PASSWORD': 'x'}); print(json.dumps([r.exit_code, r.output, 'torch' in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    exit_code, output, torch_loaded = json.loads(proc.stdout.splitlines()[-1])
    assert exit_code != 0 and problem in output and not torch_loaded, (output, proc.stderr)


def test_two_shards_at_once_store_each_prompt_once(store, neo4j_target, tiny, tmp_path):
    import os

    from circuitstore.shard import shard_of
    from tests.clirun import SCRIPT

    model_dir, tc_dir = tiny
    prompts = ["dallas is a city", "the capital of texas is", "the opposite of small is", "a city", "texas is"]
    prompts_file = tmp_path / "prompts.txt"
    prompts_file.write_text("\n".join(prompts) + "\n")
    tools = ["--model", str(model_dir), "--transcoders", str(tc_dir)]
    args = ["ingest", "--prompts", str(prompts_file), *tools, *SETTINGS]
    env = {**os.environ, **neo4j_target}
    runs = [
        subprocess.Popen([str(SCRIPT), *args, "--shard", f"{i}/2"], env=env, stdout=subprocess.PIPE, text=True)
        for i in (1, 2)
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    model = load_model(model_dir)
    tcs = load_transcoders(tc_dir, model)
    settings = AttributionSettings(max_feature_nodes=25, node_threshold=0.9, edge_threshold=0.95, batch_size=8)
    ids = {p: graph_id(model, tcs, p, settings) for p in prompts}
    for i, output in zip((1, 2), outputs):
        mine = [p for p in prompts if shard_of(p, 2) == i]
        assert {line.split()[1] for line in output.splitlines() if line.startswith("stored ")} == {ids[p] for p in mine}
    assert sorted(value(store, "MATCH (g:Graph) RETURN collect(g.id)")) == sorted(ids.values())
    # Run again, each shard skips what it stored; a bad shard is one line before any model loads.
    again = CliRunner().invoke(main, [*args, "--shard", "2/2"], env=neo4j_target, catch_exceptions=False)
    assert (
        again.stdout.strip().splitlines()[-1]
        == f"0 stored, {sum(shard_of(p, 2) == 2 for p in prompts)} skipped, 0 failed"
    )
    bad = CliRunner().invoke(main, [*args, "--shard", "3/2"], env=neo4j_target)
    assert bad.exit_code == 1 and "--shard '3/2': expected I/N with 1 <= I <= N" in bad.output
