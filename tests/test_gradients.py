"""Prompt-dependent latent gradients (compute/gradients.py) against torch.autograd on the full
model, one target per backward pass with dense activations, for SAELens residual-stream SAEs,
attention (hook_z) SAEs and transcoders saved to disk and read back through SAELens' loader; and
the stored graph of kind latent-gradients, asked with the query library."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from circuitstore.cli import main
from circuitstore.compute import load_model, save_model
from circuitstore.compute.gradients import KIND, gradient_graph, latent_gradients, load_dictionaries
from circuitstore.queries import run_query
from circuitstore.store import load_graph, store_graph
from tests.circuits import logit, shares, strongest_paths
from tests.synthetic import gemma_style, gpt2_style, random_model, random_saes, random_transcoders, save_transcoders

PROMPT = [1, 5, 9, 14, 22, 5, 9, 14]  # BOS, then A B C D A B C: an induction pattern
CASES = {
    "residual": (gpt2_style(n_layers=3), [f"blocks.{n}.hook_resid_pre" for n in range(3)]),
    "attention": (gemma_style(n_layers=2), [f"blocks.{n}.attn.hook_z" for n in range(2)]),
    "transcoders": (gemma_style(n_layers=2), None),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def setup(request, tmp_path_factory):
    cfg, hooks = CASES[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    model = random_model(cfg)
    saes = random_saes(model, hooks, "jumprelu", d_sae=24) if hooks else random_transcoders(model, d_sae=24)
    model_dir, saes_dir = save_model(model, tmp / "model"), save_transcoders(saes, tmp / "saes")
    model = load_model(model_dir)
    return request.param, model, load_dictionaries(saes_dir, model), model_dir, saes_dir


def autograd_jacobian(model, dicts, source, target, logit_ids=None):
    """Dense d(target)/d(source) by torch.autograd, one backward pass per target entry, on the
    full model (nothing stopped early). source/target: a dictionary index, or None for the
    embedding scales / the logits at the last position."""
    tokens = torch.tensor(PROMPT)[None]
    names = {d.hook_in for d in dicts.items} | {d.hook_out for d in dicts.items}
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=lambda n: n in names)
    # hook_z SAEs reshape the heads themselves (SAELens' reshape_activations="hook_z").
    true = [d.sae.encode(cache[d.hook_in])[0] for d in dicts.items]
    read = {}
    hooks = []
    if source is None:
        leaf = torch.ones(len(PROMPT), requires_grad=True)
        hooks.append(("blocks.0.hook_resid_pre", lambda v, hook: v * leaf[None, :, None]))
    else:
        d = dicts.items[source]
        leaf = true[source].detach().clone().requires_grad_(True)

        def splice(v, hook):
            out = d.sae.decode(leaf[None]).reshape(v.shape)
            if hasattr(d.sae, "W_skip"):
                out = out + cache[d.hook_in] @ d.sae.W_skip.T
            return out

        hooks.append((d.hook_out, splice))
    if target is not None:
        t = dicts.items[target]

        def encode(v, hook):
            read["b"] = t.sae.encode(v)

        hooks.append((t.hook_in, encode))
    logits = model.run_with_hooks(tokens, fwd_hooks=hooks)
    outputs = logits[0, -1, logit_ids] if target is None else read["b"][0][true[target] > 0]
    # One backward pass per target entry, all at once (autograd's own batching of grad_outputs).
    (rows,) = torch.autograd.grad(outputs, leaf, torch.eye(len(outputs)), is_grads_batched=True)
    if source is not None:
        rows = rows[:, true[source] > 0]
    return rows.detach().numpy().reshape(len(outputs), -1)


def dense(g, kind, n_targets, n_sources, src_offset=0, tgt_offset=0):
    out = np.zeros((n_targets, n_sources))
    for k, s, t, w in g.rows:
        if k == kind and src_offset <= s < src_offset + n_sources and tgt_offset <= t < tgt_offset + n_targets:
            out[t - tgt_offset, s - src_offset] = w
    return out


def test_every_gradient_equals_autograd_on_the_full_model(setup):
    name, model, dicts, _, _ = setup
    g = latent_gradients(model, dicts, PROMPT, top_logits=3, batch=5)
    layers = [d.layer for d in dicts.items]
    counts = [sum(lat[0] == layer for lat in g.latents) for layer in layers]
    offsets = np.cumsum([0, *counts]).tolist()
    assert all(c > 0 for c in counts), counts
    logit_ids = torch.tensor([t for t, _ in g.logits])
    for b in range(len(layers)):
        tok = dense(g, "token-latent", counts[b], len(PROMPT), 0, offsets[b])
        np.testing.assert_allclose(tok, autograd_jacobian(model, dicts, None, b), rtol=1e-4, atol=1e-6)
        for a in range(b):
            lat = dense(g, "latent-latent", counts[b], counts[a], offsets[a], offsets[b])
            np.testing.assert_allclose(lat, autograd_jacobian(model, dicts, a, b), rtol=1e-4, atol=1e-6)
            assert np.count_nonzero(lat) > 0
        out = dense(g, "latent-logit", len(logit_ids), counts[b], offsets[b], 0)
        np.testing.assert_allclose(out, autograd_jacobian(model, dicts, b, None, logit_ids), rtol=1e-4, atol=1e-6)
    # Causal attention: nothing flows from a later position to an earlier one.
    for kind, s, t, _ in g.rows:
        if kind == "latent-latent":
            assert g.latents[s][1] <= g.latents[t][1]
        elif kind == "token-latent":
            assert s <= g.latents[t][1]


def test_the_gradient_graph_is_stored_and_queried_like_any_graph(store, setup):
    name, model, dicts, _, _ = setup
    graph = gradient_graph(model, dicts, PROMPT, top_logits=3)
    assert graph.meta.kind == KIND
    assert store_graph(store, graph) == "created"
    assert store_graph(store, graph) == "unchanged"
    back = load_graph(store, graph.meta.id)
    assert back.meta.kind == KIND and back.fingerprint() == graph.fingerprint()
    kind = store.execute_query("MATCH (g:Graph {id: $id}) RETURN g.kind AS kind", id=graph.meta.id).records
    assert kind[0]["kind"] == KIND
    # Paths from the second A (position 5) to the most likely next token, through SAE latents.
    rows = run_query(store, "paths", graph=graph.meta.id, position=5, k=4, max_length=4)
    sources = [n.id for n in graph.nodes if n.kind == "token" and n.position == 5]
    expected = strongest_paths(graph, sources, logit(graph).id, 4, 4)
    assert expected and [r["node_ids"] for r in rows] == [p for p, _, _ in expected]
    top = run_query(store, "top-inputs", graph=graph.meta.id, node=logit(graph).id, k=3)
    into = sorted(
        ((s, w) for (s, t), (w, _) in shares(graph).items() if t == logit(graph).id), key=lambda e: -abs(e[1])
    )
    assert [r["node_id"] for r in top] == [s for s, _ in into[:3]]


def test_the_gradients_command_stores_the_graph(store, neo4j_target, setup):
    _, model, dicts, model_dir, saes_dir = setup
    prompt = " ".join(map(str, PROMPT))  # a model without a tokenizer reads token ids
    args = ["gradients", prompt, "--model", str(model_dir), "--saes", str(saes_dir), "--top-logits", "3"]
    done = CliRunner().invoke(main, args, env=neo4j_target, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    expected = gradient_graph(model, dicts, PROMPT, top_logits=3)
    assert done.stdout.split()[1] == expected.meta.id
    back = load_graph(store, expected.meta.id)
    assert back.meta.kind == KIND
    found, wanted = sorted(back.edges()), sorted(expected.edges())
    assert [(s, t) for s, t, _ in found] == [(s, t) for s, t, _ in wanted]
    np.testing.assert_allclose([w for *_, w in found], [w for *_, w in wanted], rtol=1e-5)
