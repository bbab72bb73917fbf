"""An AttributionGraph turned into the values the store keeps: columns (GraphColumns, what the
bulk importer writes) and the parameters write_graph.cypher takes (GraphParams, rows of them).

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
class GraphColumns:
    """One graph's store values as columns: what store_graph sends (GraphParams, a row per node)
    and what the bulk importer writes (store/bulk.py, a file row per node) are both built here.

    Nodes go in kind order (tokens, latents, errors, logits), table order within a kind: a node's
    position in that order is its `slot`, which it also keeps as a property (queries index
    per-node lists by it). `props` holds each node property (graph_id aside) as a list over the
    slots, None where a node has none (not stored); `feature` / `vocab` give each slot's index
    into `features` / `vocab`, the shared node it links to (-1: none). Edges and supernode
    members name nodes by slot.
    """

    graph_id: str
    fingerprint: str
    graph: dict[str, Any]  # :Graph properties
    labels: list[str]  # each slot's kind label
    props: dict[str, list]  # property -> value per slot (None: not stored)
    feature: np.ndarray  # per slot: index into `features`, -1 for none
    vocab_of: np.ndarray  # per slot: index into `vocab`, -1 for none
    features: list[dict]  # distinct :Feature keys (id, transcoder_set, layer, index), sorted by id (a fixed lock order)
    vocab: list[dict]  # distinct :Vocab properties, sorted by id
    sources: np.ndarray  # edge endpoints, as slots
    targets: np.ndarray
    weights: np.ndarray
    shares: np.ndarray
    supernodes: list[dict]  # [{name, members: [slot]}]

    @property
    def n_nodes(self) -> int:
        return len(self.labels)

    @classmethod
    def of(cls, graph: AttributionGraph, *, stored_paths: int = STORED_PATHS) -> GraphColumns:
        meta = graph.meta
        gid = meta.id
        ts = meta.transcoder_set
        kinds = np.array([KINDS.index(node.kind) for node in graph.nodes], dtype=np.int64)
        order = np.argsort(kinds, kind="stable")  # kind order, table order within a kind
        nodes = [graph.nodes[i] for i in order.tolist()]
        n = len(nodes)
        slot = np.empty(n, dtype=np.int64)
        slot[order] = np.arange(n)

        props: dict[str, list] = {
            "node_id": [node.id for node in nodes],
            "kind": [node.kind for node in nodes],
            "position": [node.position for node in nodes],
            "slot": list(range(n)),
            "name": [caption(node) for node in nodes],
        }
        for field, prop in NODE_PROPERTIES.items():
            props[prop] = [getattr(node, field) for node in nodes]
        props["is_target"] = [node.is_target if node.kind == "logit" or node.is_target else None for node in nodes]
        # label and name of a Feature are derived afterwards, from every graph (feature_labels.cypher)
        props["feature_id"] = [
            feature_id(ts, node.layer, node.feature_index) if node.kind == "latent" else None for node in nodes
        ]
        for i, values in derived_properties(graph, stored_paths).items():
            for prop, value in values.items():
                props.setdefault(prop, [None] * n)[slot[i]] = value

        features: dict[str, dict] = {}
        vocab: dict[str, dict] = {}
        refs: list[str | None] = []
        # Tokens before logits, so a Vocab entry takes its text from the prompt, not a clerp.
        for node, fid in zip(nodes, props["feature_id"]):
            ref = fid
            if fid is not None:
                features.setdefault(
                    fid, {"id": fid, "transcoder_set": ts, "layer": node.layer, "index": node.feature_index}
                )
            elif node.kind in ("token", "logit") and node.token_id is not None:
                ref = vocab_id(meta.model, node.token_id)
                entry = vocab.setdefault(ref, {"id": ref, "model": meta.model, "token_id": node.token_id, "text": None})
                if entry["text"] is None and node.text is not None:
                    entry["text"] = node.text
                entry["name"] = entry["text"] if entry["text"] is not None else token_caption(None, node.token_id)
            refs.append(ref)
        feature_at = {k: i for i, k in enumerate(sorted(features))}
        vocab_at = {k: i for i, k in enumerate(sorted(vocab))}
        feature = np.array([feature_at.get(r, -1) for r in refs], dtype=np.int64)
        vocab_of = np.array([vocab_at.get(r, -1) if f < 0 else -1 for r, f in zip(refs, feature)], dtype=np.int64)

        graph_props = {
            "id": gid,
            "name": gid,
            "kind": meta.kind,
            "prompt": meta.prompt,
            "prompt_tokens": list(meta.prompt_tokens),
            "model": meta.model,
            "transcoder_set": ts,
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
            labels=[LABELS[node.kind] for node in nodes],
            props=props,
            feature=feature,
            vocab_of=vocab_of,
            features=[features[k] for k in sorted(features)],
            vocab=[vocab[k] for k in sorted(vocab)],
            sources=slot[graph.sources],
            targets=slot[graph.targets],
            weights=graph.weights,
            shares=edge_shares(graph.n_nodes, graph.targets, graph.weights),
            supernodes=[
                {"name": sn.name, "members": [int(slot[graph.index_of(m)]) for m in sn.members]}
                for sn in graph.supernodes
            ],
        )


@dataclass(frozen=True)
class GraphParams:
    """Everything store_graph sends, in the shapes write_graph.cypher reads: GraphColumns as rows.

    A node is {label, props, feature, vocab}: its kind label, its properties but graph_id (an
    absent one is not stored), and the index into `features` / `vocab` of the shared node it
    links to (null: none); nodes, edges and supernode members as in GraphColumns.
    """

    graph_id: str
    fingerprint: str
    graph: dict[str, Any]  # :Graph properties
    nodes: list[dict]  # in slot order: {label, props, feature, vocab}
    features: list[dict]
    vocab: list[dict]
    sources: list[int]  # edge endpoints, as slots
    targets: list[int]
    weights: list[float]
    shares: list[float]
    supernodes: list[dict]  # [{name, members: [slot]}]

    @classmethod
    def of(cls, graph: AttributionGraph, *, stored_paths: int = STORED_PATHS) -> GraphParams:
        c = GraphColumns.of(graph, stored_paths=stored_paths)
        columns = list(c.props.items())
        nodes = [
            {
                "label": label,
                "props": {prop: values[i] for prop, values in columns if values[i] is not None},
                "feature": None if f < 0 else f,
                "vocab": None if v < 0 else v,
            }
            for i, (label, f, v) in enumerate(zip(c.labels, c.feature.tolist(), c.vocab_of.tolist()))
        ]
        return cls(
            graph_id=c.graph_id,
            fingerprint=c.fingerprint,
            graph=c.graph,
            nodes=nodes,
            features=c.features,
            vocab=c.vocab,
            sources=c.sources.tolist(),
            targets=c.targets.tolist(),
            weights=c.weights.tolist(),
            shares=c.shares.tolist(),
            supernodes=c.supernodes,
        )


def derived_properties(graph: AttributionGraph, stored_paths: int) -> dict[int, dict[str, Any]]:
    """{node index: properties} of the facts derived at ingest (circuitstore.derived; their
    meaning: the data model). Latents: `logit_influence`, one value per logit in `logit_index`
    order. Logits: `logit_index` and the stored paths, strongest first, as parallel lists:
    `paths_strength`, `paths_length`, `paths_weight` (weight product), `paths_nodes` (each path's
    node ids, token to logit; path i's from `paths_node_start[i]` to `paths_node_start[i + 1]`)
    and `paths_feature_layer` and `paths_feature_index` (the layer and index of each path's
    latents, whose Feature is `<graph's transcoder set>/<layer>/<index>`, likewise by
    `paths_feature_start`: numbers, which the store reads several times faster than ids), and
    the graph's `transcoder_set`, so that naming those Features looks up no graph."""
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
            "transcoder_set": graph.meta.transcoder_set,
        }
    return out
