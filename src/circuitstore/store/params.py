"""An AttributionGraph turned into the parameters write_graph.cypher takes.

Built once per graph, before any transaction starts, so a retried transaction re-sends the
same lists and Python work never happens while Neo4j holds locks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from circuitstore.derived import STORED_PATHS, logit_influence, logits, strongest_paths
from circuitstore.errors import CircuitstoreError
from circuitstore.graph import KINDS, AttributionGraph, Node, edge_shares
from circuitstore.identity import feature_id, vocab_id
from circuitstore.settings import CONVENTIONS

# Optional Node fields and the node properties they are stored as (None is simply not stored).
# Two properties keep the names users script against: `feature` and `feature_ref`.
NODE_PROPERTIES = {
    "layer": "layer",
    "feature_index": "feature",
    "token_id": "token_id",
    "text": "text",
    "activation": "activation",
    "influence": "influence",
    "probability": "probability",
    "label": "label",
    "file_feature": "feature_ref",
    "js_id": "js_id",
}
# Each node kind's label, beside :Node.
LABELS = {"token": "Token", "latent": "Latent", "error": "Error", "logit": "Logit"}
# Pruning and score entries that have a column of their own on :Graph (all of them, known or
# not, are also kept as JSON in `pruning` / `scores`).
PRUNING_KEYS = ("node_threshold", "edge_threshold")
SCORE_KEYS = ("replacement_score", "completeness_score")
# Generation entries copied to :Graph columns, so that queries can tell which conventions a
# graph follows (null: its producer did not say); the generation JSON keeps them too.
# influence_over is set by migration 004 only (see the data model).
GENERATION_COLUMNS = (*CONVENTIONS, "influence_over")


def caption(node: Node) -> str:
    """The short `name` Neo4j Browser shows on a node (see the data model)."""
    if node.kind == "token":
        return f"{token_caption(node.text, node.token_id)}@{node.position}"
    if node.kind == "latent":
        text = f"L{node.layer}/{node.feature_index}@{node.position}"
        return f"{text} {node.label}" if node.label else text
    if node.kind == "error":
        return f"err L{node.layer}@{node.position}"
    prob = "" if node.probability is None else f" {node.probability:.2f}"
    # A clerp the reader could not parse says more than the bare token id.
    shown = node.label if node.text is None and node.label else token_caption(node.text, node.token_id)
    return f"→ {shown}{prob}"


def token_caption(text: str | None, token_id: int | None) -> str:
    """A token as captions show it: its text quoted (spaces visible), else `#<token id>`."""
    if text is not None:
        return json.dumps(text, ensure_ascii=False)
    return "?" if token_id is None else f"#{token_id}"


def _json(graph_id: str, what: str, value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CircuitstoreError(f"graph {graph_id!r}: {what} cannot be stored as JSON ({exc})") from None


@dataclass(frozen=True)
class GraphParams:
    """Everything store_graph sends, in the shapes write_graph.cypher reads.

    Nodes go in kind order (tokens, latents, errors, logits), table order within a kind; edges
    and supernode members name nodes by their position ("slot") in that order, which each node
    also keeps as its `slot` property (queries index per-node lists by it). A node is
    {label, props, feature, vocab}: its kind label, its properties but graph_id (an absent one
    is not stored), and the index into `features` / `vocab` of the shared node it links to
    (null: none).
    """

    graph_id: str
    fingerprint: str
    graph: dict[str, Any]  # :Graph properties
    nodes: list[dict]  # in slot order: {label, props, feature, vocab}
    features: list[dict]  # distinct :Feature keys (id, transcoder_set, layer, index), sorted by id (a fixed lock order)
    vocab: list[dict]  # distinct :Vocab properties, sorted by id
    sources: list[int]  # edge endpoints, as slots
    targets: list[int]
    weights: list[float]
    shares: list[float]
    supernodes: list[dict]  # [{name, members: [slot]}]

    @classmethod
    def of(cls, graph: AttributionGraph, *, stored_paths: int = STORED_PATHS) -> GraphParams:
        meta = graph.meta
        gid = meta.id
        nodes: list[dict] = []
        features: dict[str, dict] = {}
        vocab: dict[str, dict] = {}
        derived = derived_properties(graph, stored_paths)
        kinds = np.array([KINDS.index(node.kind) for node in graph.nodes], dtype=np.int64)
        order = np.argsort(kinds, kind="stable")  # kind order, table order within a kind
        # Tokens before logits, so a Vocab entry takes its text from the prompt, not a clerp.
        for i in order.tolist():
            node = graph.nodes[i]
            kind = node.kind
            props: dict[str, Any] = {
                "node_id": node.id,
                "kind": kind,
                "position": node.position,
                "slot": len(nodes),
                "name": caption(node),
            }
            for field, prop in NODE_PROPERTIES.items():
                value = getattr(node, field)
                if value is not None:
                    props[prop] = value
            if kind == "logit" or node.is_target:
                props["is_target"] = node.is_target
            props.update(derived.get(i, {}))
            ref = None
            if kind == "latent":
                ref = props["feature_id"] = feature_id(meta.transcoder_set, node.layer, node.feature_index)
                # label and name are derived afterwards, from every graph (feature_labels.cypher)
                features.setdefault(
                    ref,
                    {
                        "id": ref,
                        "transcoder_set": meta.transcoder_set,
                        "layer": node.layer,
                        "index": node.feature_index,
                    },
                )
            elif kind in ("token", "logit") and node.token_id is not None:
                ref = vocab_id(meta.model, node.token_id)
                entry = vocab.setdefault(ref, {"id": ref, "model": meta.model, "token_id": node.token_id, "text": None})
                if entry["text"] is None and node.text is not None:
                    entry["text"] = node.text
                entry["name"] = entry["text"] if entry["text"] is not None else token_caption(None, node.token_id)
            nodes.append({"label": LABELS[kind], "props": props, "feature": None, "vocab": None, "ref": ref})
        feature_ids = sorted(features)
        vocab_ids = sorted(vocab)
        feature_at = {k: n for n, k in enumerate(feature_ids)}
        vocab_at = {k: n for n, k in enumerate(vocab_ids)}
        for node in nodes:
            ref = node.pop("ref")
            if ref is not None:
                if node["label"] == "Latent":
                    node["feature"] = feature_at[ref]
                else:
                    node["vocab"] = vocab_at[ref]

        slot = np.empty(graph.n_nodes, dtype=np.int64)
        slot[order] = np.arange(graph.n_nodes)

        shares = edge_shares(graph.n_nodes, graph.targets, graph.weights)

        graph_props = {
            "id": gid,
            "name": gid,
            "kind": meta.kind,
            "prompt": meta.prompt,
            "prompt_tokens": list(meta.prompt_tokens),
            "model": meta.model,
            "transcoder_set": meta.transcoder_set,
            "created": meta.created,
            "n_nodes": graph.n_nodes,
            "n_edges": graph.n_edges,
            "generation": _json(gid, "generation settings", dict(meta.generation)),
            "pruning": _json(gid, "pruning settings", dict(meta.pruning)),
            "scores": _json(gid, "scores", dict(meta.scores)),
            "source": _json(gid, "source metadata", dict(meta.source)),
            "fingerprint": graph.fingerprint(),
            "stored_paths": stored_paths,
        }
        for key in GENERATION_COLUMNS:
            graph_props[key] = meta.generation.get(key)
        for key in PRUNING_KEYS:
            graph_props[key] = meta.pruning.get(key)
        for key in SCORE_KEYS:
            graph_props[key] = meta.scores.get(key)

        return cls(
            graph_id=gid,
            fingerprint=graph_props["fingerprint"],
            graph=graph_props,
            nodes=nodes,
            features=[features[k] for k in feature_ids],
            vocab=[vocab[k] for k in vocab_ids],
            sources=slot[graph.sources].tolist(),
            targets=slot[graph.targets].tolist(),
            weights=graph.weights.tolist(),
            shares=shares.tolist(),
            supernodes=[
                {"name": sn.name, "members": [int(slot[graph.index_of(m)]) for m in sn.members]}
                for sn in graph.supernodes
            ],
        )


def derived_properties(graph: AttributionGraph, stored_paths: int) -> dict[int, dict[str, Any]]:
    """{node index: properties} of the facts derived at ingest (circuitstore.derived; their
    meaning: the data model). Latents: `logit_influence`, one value per logit in `logit_index`
    order. Logits: `logit_index` and the stored paths, strongest first, as parallel lists:
    `paths_strength`, `paths_length`, `paths_weight` (weight product), `paths_nodes` (each path's
    node ids, token to logit; path i's from `paths_node_start[i]` to `paths_node_start[i + 1]`)
    and `paths_feature_layer` and `paths_feature_index` (the layer and index of each path's
    latents, whose Feature is `<graph's transcoder set>/<layer>/<index>`, likewise by
    `paths_feature_start`: numbers, which the store reads several times faster than ids)."""
    columns = logits(graph)
    out: dict[int, dict[str, Any]] = {}
    if not columns:
        return out
    influence = logit_influence(graph)
    for i, node in enumerate(graph.nodes):
        if node.kind == "latent":
            out[i] = {"logit_influence": influence[i].tolist()}
    for j, (t, paths) in enumerate(strongest_paths(graph, stored_paths).items()):
        latents = [[graph.nodes[i] for i in p.nodes if graph.nodes[i].kind == "latent"] for p in paths]
        node_start = np.cumsum([0, *(len(p.nodes) for p in paths)])
        feature_start = np.cumsum([0, *(len(ls) for ls in latents)])
        out[t] = {
            "logit_index": j,
            "paths_strength": [p.strength for p in paths],
            "paths_length": [p.length for p in paths],
            "paths_weight": [p.weight_product for p in paths],
            "paths_nodes": [graph.nodes[i].id for p in paths for i in p.nodes],
            "paths_node_start": node_start.tolist(),
            "paths_feature_layer": [n.layer for ls in latents for n in ls],
            "paths_feature_index": [n.feature_index for ls in latents for n in ls],
            "paths_feature_start": feature_start.tolist(),
        }
    return out
