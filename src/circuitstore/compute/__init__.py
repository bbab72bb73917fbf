"""Computing attribution graphs: model and transcoder loading (TransformerLens, SAELens), the
local replacement model and attribution. The only package that imports torch; pruning
(circuitstore.pruning), ids (circuitstore.identity) and settings (circuitstore.settings) are
torch-free modules of their own, and what of them this API always offered is re-exported here.

    model = load_model("gemma-3-270m", device="cpu")
    transcoders = load_transcoders("gemma-scope-2-270m-pt-transcoders-all", model)
    graph = compute_graph(model, transcoders, "The capital of Texas is", AttributionSettings())

`attribute` gives the unpruned graph and `prune` prunes it; `compute_graph` does both, and
`compute_graphs` does it for many prompts, those of one length sharing passes. With the
default AttributionSettings the graph is circuit-tracer's (v0.5.0) for the same model,
transcoders and prompt: nodes, edges, pruning, influence and scores (tests/test_circuit_tracer.py),
for per-layer SAELens transcoders, cross-layer transcoders and Top-K transcoders (circuit-tracer's
layouts, compute/ct_layouts.py) alike, and for chosen targets (`AttributionSettings(targets=
(Target("diff", (" Austin", " Dallas")),))`); `position_0_sources` and
`token_vectors="resid_pre"` are the other conventions, as options.
`load_model("planted")` and `load_transcoders("planted", model)` give the planted-circuit model
(circuitstore.compute.planted), whose circuit is known by construction.
"""

from circuitstore.compute.attribution import attribute, compute_graph, compute_graphs, graph_id, tokenize
from circuitstore.compute.errors import ComputeError, PromptError
from circuitstore.compute.models import load_model, save_model
from circuitstore.compute.replacement import Replacement
from circuitstore.compute.transcoder_set import TranscoderSet
from circuitstore.compute.transcoders import SaeLensTranscoders, load_transcoders
from circuitstore.pruning import cumulative_influence, graph_scores, prune, raw_influence
from circuitstore.settings import DEFAULT_MODEL, DEFAULT_TRANSCODERS, AttributionSettings, Target

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TRANSCODERS",
    "AttributionSettings",
    "ComputeError",
    "PromptError",
    "Replacement",
    "SaeLensTranscoders",
    "Target",
    "TranscoderSet",
    "attribute",
    "compute_graph",
    "compute_graphs",
    "cumulative_influence",
    "graph_id",
    "graph_scores",
    "load_model",
    "load_transcoders",
    "prune",
    "raw_influence",
    "save_model",
    "tokenize",
]
