"""What a graph predicts an intervention does to its logit nodes.

The graph is a linear model of the prompt's local replacement model (compute/replacement.py):
an edge s -> t of weight w says that what s writes (a latent: its activation a_s times its
decoder row) moves t's pre-activation (a latent) or value (a logit: the logit minus the mean
logit) by w. So a change of a_s moves t by w * change / a_s, and the prediction propagates the
intervention's changes along the edges in layer order:
- a latent that is not intervened on changes its activation one for one with its pre-activation
  (JumpReLU and ReLU latents have slope 1 above their threshold);
- an intervened latent's new activation is its Rule applied to what the activation would be
  after the changes upstream (scale * (a + change of its pre-activation), or a fixed value), so
  an ablated latent stays ablated whatever happens above it;
- a logit node moves by the sum over its incoming edges.
This is the exact response of the graph's linear model, not a first-order expansion of it.

Captured: the direct effects and every indirect path through the graph's latents. Not captured:
- pruned nodes and edges: paths through them are lost (an unpruned graph loses none);
- thresholds: a latent the change pushes below its threshold keeps responding linearly, one
  pushed above is in no graph (only active latents are), so large changes are read linearly;
- attention patterns and norm scales, frozen in the graph: how they would move is what the
  real model (`--free`) measures beyond the prediction;
- the transcoders' errors, constant in the graph though the true MLPs react to their input.
With frozen attention (compute/intervene.py, `frozen=True`) only the first two remain, so on an
unpruned graph, for changes too small to cross a threshold, measured and predicted agree.

Swapped-in latents that the intervened graph lacks (the usual case: California's features do
not fire on the Dallas prompt) have no edges in it; their effect is read from the swap graph
instead, as the change its linear model predicts when they go from 0 to their activation there,
on its logit nodes of the same tokens. The logit nodes reported are the intervened graph's and
then the swap graph's of other tokens; a graph predicts no change of a token it has no logit
node for.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import sparse

from circuitstore.graph import AttributionGraph, Node
from circuitstore.interventions import InterventionError, Plan, Rule


def propagate(graph: AttributionGraph, rules: Mapping[int, Rule]) -> np.ndarray:
    """The change of every node (a latent's activation, a logit node's value; 0 for tokens and
    errors, which stay fixed) when the latents at node indices `rules` follow their rules."""
    n = graph.n_nodes
    kinds = np.array([node.kind for node in graph.nodes])
    layer = np.array([-1 if node.layer is None else node.layer for node in graph.nodes])
    act = np.array([node.activation or 0.0 for node in graph.nodes])
    latent = kinds == "latent"
    into_latents = latent[graph.targets] & latent[graph.sources]
    backwards = into_latents & (layer[graph.sources] >= layer[graph.targets])
    if backwards.any():
        e = int(np.flatnonzero(backwards)[0])
        s, t = graph.nodes[graph.sources[e]].id, graph.nodes[graph.targets[e]].id
        raise InterventionError(f"graph {graph.meta.id!r}: edge {s!r} -> {t!r} does not run to a later layer")
    # incoming[t, s] = w: one sparse row per target.
    incoming = sparse.csr_matrix((graph.weights, (graph.targets, graph.sources)), shape=(n, n))
    change = np.zeros(n)
    relative = np.zeros(n)  # change / activation: what multiplies a latent's outgoing weights
    for at in np.unique(layer[latent]):
        rows = np.flatnonzero(latent & (layer == at))
        change[rows] = incoming[rows] @ relative
        for i in rows:
            if i in rules:
                change[i] = rules[i].applied(act[i] + change[i]) - act[i]
        moved = rows[change[rows] != 0]
        if (act[moved] == 0).any():
            bad = graph.nodes[moved[act[moved] == 0][0]].id
            raise InterventionError(f"graph {graph.meta.id!r}: latent {bad!r} has no activation to propagate")
        relative[moved] = change[moved] / act[moved]
    logits = np.flatnonzero(kinds == "logit")
    change[logits] = incoming[logits] @ relative
    return change


def logit_nodes(plan: Plan) -> list[tuple[str, Node]]:
    """(graph id, node) of the logit nodes an intervention reports: the intervened graph's, then
    those of the swap graph whose tokens it lacks (Sacramento's, when California is swapped into
    Dallas)."""
    own = [(plan.graph.meta.id, n) for n in plan.graph.nodes if n.kind == "logit"]
    if plan.swap_graph is None:
        return own
    seen = {n.token_id for _, n in own}
    sid = plan.swap_graph.meta.id
    return own + [(sid, n) for n in plan.swap_graph.nodes if n.kind == "logit" and n.token_id not in seen]


def predicted_changes(plan: Plan) -> dict[int, float]:
    """The predicted change of each reported logit node (`logit_nodes`), by token id: what the
    intervened graph predicts (nothing for a token it has no logit node for) plus what the swap
    graph predicts for the swapped-in latents it has and the intervened graph lacks."""
    out = {n.token_id: 0.0 for _, n in logit_nodes(plan)}
    graph = plan.graph
    own = {graph.index_of(e.node_id): e.rule for e in plan.edits if e.graph_id == graph.meta.id}
    for token, change in _logit_changes(graph, own).items():
        out[token] += change
    borrowed = [e for e in plan.edits if e.graph_id != graph.meta.id]
    if borrowed:
        other = plan.swap_graph
        # Each borrowed latent goes from its activation to 0 there; the swap adds the opposite.
        away = _logit_changes(other, {other.index_of(e.node_id): Rule(0.0) for e in borrowed})
        for token, change in away.items():
            out[token] -= change
    return out


def _logit_changes(graph: AttributionGraph, rules: Mapping[int, Rule]) -> dict[int, float]:
    change = propagate(graph, rules)
    return {node.token_id: float(change[i]) for i, node in enumerate(graph.nodes) if node.kind == "logit"}
