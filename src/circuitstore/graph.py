"""The one in-memory type that crosses between compute, formats and the store.

An AttributionGraph is one prompt's circuit: metadata, a node table, sparse weighted edges
(columnar numpy arrays, so a graph of 10^5 edges costs a few MB and is stored in bulk) and named
supernodes. It imports neither torch nor neo4j. Construction validates everything, so any
graph that exists is well formed.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from circuitstore.errors import CircuitstoreError

KINDS = ("token", "latent", "error", "logit")
# Neo4j stores integers as 64-bit.
INT64 = (-(2**63), 2**63 - 1)
MAX_GRAPH_ID = 256
# Pruning and score entries with a meaning of their own (each also a :Graph column): numbers.
NUMERIC_SETTINGS = ("node_threshold", "edge_threshold", "replacement_score", "completeness_score")
# What a graph's edges are: attribution (the direct linear effect of a source on a target in the
# local replacement model), or latent-gradients (Jacobian entries between SAE latents, tokens and
# logits on one prompt, compute/gradients.py).
GRAPH_KINDS = ("attribution", "latent-gradients")


class GraphError(CircuitstoreError, ValueError):
    """A graph that is not well formed; the message names the culprit."""


def check_text(value: object, what: str, *, trimmed: bool = True) -> None:
    """A name that is printed and typed: a non-empty string with no control characters (terminal
    escapes, NULs, line breaks, invisible format characters) and, if `trimmed`, no surrounding
    whitespace."""
    if not isinstance(value, str) or not value:
        raise GraphError(f"{what} must be a non-empty string, got {value!r}")
    if trimmed and value != value.strip():
        raise GraphError(f"{what} {value!r} has leading or trailing whitespace")
    bad = next((ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise GraphError(f"{what} {value!r} contains the control character {bad!r}")


def check_graph_id(value: object) -> None:
    """A graph id: a name (check_text) of at most MAX_GRAPH_ID characters that does not look
    like a relative path (no empty, `.` or `..` segments between slashes)."""
    check_text(value, "graph id")
    if len(value) > MAX_GRAPH_ID:
        raise GraphError(f"graph id {value[:40]!r}... is {len(value)} characters long (at most {MAX_GRAPH_ID})")
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise GraphError(f"graph id {value!r} has an empty, '.' or '..' path segment")


def edge_shares(n_nodes: int, targets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each edge's share of its target's input, `w / sum(|w| of every edge into the target)`: the
    normalisation that path strength, influence and pruning use. A target whose inputs all weigh
    0 gives shares of 0, not NaN."""
    totals = np.bincount(targets, weights=np.abs(weights), minlength=n_nodes)
    denom = totals[targets]
    return np.divide(weights, denom, out=np.zeros(len(weights)), where=denom > 0)


@dataclass(frozen=True, slots=True)
class Node:
    """One node of an attribution graph.

    "Feature" names four things here, each under its own name:
    - a *Feature* (`:Feature` in Neo4j) is one latent of one transcoder, the same in every graph
      computed with that transcoder set; a latent node is an instance of one;
    - `feature_index` is a latent's index among its layer transcoder's latents (with `layer` and
      the graph's transcoder set it names the Feature; stored as the node property `feature`);
    - a Feature's id, "<transcoder set>/<layer>/<index>" (identity.feature_id; stored on latent
      nodes as `feature_id`);
    - `file_feature` keeps the `feature` number a graph file gave the node (Neuronpedia encodes
      layer and index in one integer), so files round-trip (stored as `feature_ref`).
    `js_id` likewise keeps Neuronpedia's `jsNodeId`. `layer` is None for tokens; for logits it
    is whatever layer number the producer gave them (circuit-tracer: n_layers + 1).
    """

    id: str
    kind: str
    position: int
    layer: int | None = None
    feature_index: int | None = None
    token_id: int | None = None
    text: str | None = None
    activation: float | None = None
    influence: float | None = None
    probability: float | None = None
    label: str | None = None
    is_target: bool = False
    file_feature: int | None = None
    js_id: str | None = None

    def __post_init__(self) -> None:
        check_text(self.id, "node id")
        where = f"node {self.id!r}"
        if self.kind not in KINDS:
            raise GraphError(f"{where}: unknown kind {self.kind!r} (expected one of {', '.join(KINDS)})")
        if not isinstance(self.position, int) or self.position < 0:
            raise GraphError(f"{where}: position must be a non-negative integer, got {self.position!r}")
        if self.kind == "latent" and (self.layer is None or self.feature_index is None):
            raise GraphError(f"{where}: a latent needs both a layer and a feature index")
        if self.kind == "error" and self.layer is None:
            raise GraphError(f"{where}: an error node needs a layer")
        for name in ("position", "layer", "feature_index", "token_id", "file_feature"):
            value = getattr(self, name)
            if value is not None and not INT64[0] <= value <= INT64[1]:
                raise GraphError(f"{where}: {name} {value} does not fit in 64 bits")
        for name in ("activation", "influence", "probability"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise GraphError(f"{where}: {name} is not finite ({value!r})")


@dataclass(frozen=True, slots=True)
class Supernode:
    """A named group of nodes (a hand-made or computed feature family)."""

    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class GraphMeta:
    """What a graph is of and how it was made.

    `kind` says what the edges are (GRAPH_KINDS). `generation` holds the attribution settings
    (max_n_logits, desired_logit_prob, batch_size, max_feature_nodes, ...), `pruning` the
    thresholds (node_threshold, edge_threshold), `scores` the replacement and completeness
    scores. `source` keeps what a file carried that has no column of its own (Neuronpedia slug,
    scan, info, qParams extras) so it can be written back.
    """

    id: str
    prompt: str
    prompt_tokens: tuple[str, ...]
    model: str
    transcoder_set: str
    created: str | None = None
    generation: Mapping[str, Any] = field(default_factory=dict)
    pruning: Mapping[str, Any] = field(default_factory=dict)
    scores: Mapping[str, Any] = field(default_factory=dict)
    source: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "attribution"

    def __post_init__(self) -> None:
        check_graph_id(self.id)
        for what, settings in (("pruning", self.pruning), ("scores", self.scores)):
            for key in NUMERIC_SETTINGS:
                value = settings.get(key)
                if value is not None and (
                    not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
                ):
                    raise GraphError(f"graph {self.id!r}: {what} {key} must be a finite number, got {value!r}")
        if self.kind not in GRAPH_KINDS:
            raise GraphError(
                f"graph {self.id!r}: unknown kind {self.kind!r} (expected one of {', '.join(GRAPH_KINDS)})"
            )


class AttributionGraph:
    """Metadata, nodes, edges (source index, target index, weight) and supernodes."""

    __slots__ = ("meta", "nodes", "sources", "targets", "weights", "supernodes", "_index")

    def __init__(
        self,
        meta: GraphMeta,
        nodes: Sequence[Node],
        sources: Sequence[int] | np.ndarray,
        targets: Sequence[int] | np.ndarray,
        weights: Sequence[float] | np.ndarray,
        supernodes: Iterable[Supernode] = (),
    ) -> None:
        self.meta = meta
        self.nodes = tuple(nodes)
        if not self.nodes:
            raise GraphError(f"graph {meta.id!r} has no nodes")
        index: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            if node.id in index:
                raise GraphError(f"graph {meta.id!r}: duplicate node id {node.id!r}")
            index[node.id] = i
        self._index = index

        self.sources = np.ascontiguousarray(sources, dtype=np.int64)
        self.targets = np.ascontiguousarray(targets, dtype=np.int64)
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        if not (self.sources.ndim == self.targets.ndim == self.weights.ndim == 1) or not (
            len(self.sources) == len(self.targets) == len(self.weights)
        ):
            raise GraphError(f"graph {meta.id!r}: edge arrays must be 1-d and of equal length")
        n = len(self.nodes)
        for name, arr in (("source", self.sources), ("target", self.targets)):
            bad = np.flatnonzero((arr < 0) | (arr >= n))
            if bad.size:
                raise GraphError(
                    f"graph {meta.id!r}: edge {bad[0]} has {name} index {arr[bad[0]]} outside the node table"
                )
        bad = np.flatnonzero(~np.isfinite(self.weights))
        if bad.size:
            e = bad[0]
            raise GraphError(
                f"graph {meta.id!r}: edge {self.nodes[self.sources[e]].id!r} -> "
                f"{self.nodes[self.targets[e]].id!r} has non-finite weight {self.weights[e]!r}"
            )
        if n > 0 and len(self.sources):
            pair = self.sources * n + self.targets
            uniq, counts = np.unique(pair, return_counts=True)
            if (counts > 1).any():
                p = int(uniq[np.argmax(counts > 1)])
                raise GraphError(
                    f"graph {meta.id!r}: duplicate edge {self.nodes[p // n].id!r} -> {self.nodes[p % n].id!r}"
                )

        self.supernodes = tuple(supernodes)
        names: set[str] = set()
        for sn in self.supernodes:
            check_text(sn.name, f"graph {meta.id!r}: supernode name", trimmed=False)
            if sn.name in names:
                raise GraphError(
                    f"graph {meta.id!r}: two supernodes are named {sn.name!r}; names must be unique within a "
                    "graph (rename one, or merge their members into one)"
                )
            names.add(sn.name)
            for member in sn.members:
                if member not in index:
                    raise GraphError(f"graph {meta.id!r}: supernode {sn.name!r} names unknown node {member!r}")

    @classmethod
    def from_edge_ids(
        cls,
        meta: GraphMeta,
        nodes: Sequence[Node],
        edges: Iterable[tuple[str, str, float]],
        supernodes: Iterable[Supernode] = (),
    ) -> AttributionGraph:
        """Build from (source id, target id, weight) triples; unknown ids are named in the error."""
        index = {node.id: i for i, node in enumerate(nodes)}
        src: list[int] = []
        tgt: list[int] = []
        wts: list[float] = []
        for s, t, w in edges:
            for role, nid in (("source", s), ("target", t)):
                if nid not in index:
                    raise GraphError(f"graph {meta.id!r}: edge {s!r} -> {t!r} names unknown {role} node {nid!r}")
            src.append(index[s])
            tgt.append(index[t])
            wts.append(w)
        return cls(meta, nodes, src, tgt, wts, supernodes)

    def index_of(self, node_id: str) -> int:
        try:
            return self._index[node_id]
        except KeyError:
            raise GraphError(f"graph {self.meta.id!r} has no node {node_id!r}") from None

    def node(self, node_id: str) -> Node:
        return self.nodes[self.index_of(node_id)]

    def edges(self) -> Iterable[tuple[str, str, float]]:
        """(source id, target id, weight) triples, in storage order."""
        ids = [node.id for node in self.nodes]
        for s, t, w in zip(self.sources.tolist(), self.targets.tolist(), self.weights.tolist()):
            yield ids[s], ids[t], w

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        return len(self.weights)

    def count_by_kind(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for node in self.nodes:
            counts[node.kind] += 1
        return counts

    def fingerprint(self) -> str:
        """A hash of the content (metadata except the id, nodes, edges, supernodes) that ignores
        the order of nodes, edges, supernodes and members: the same graph written out in another
        order, or under another id, has the same fingerprint."""
        h = hashlib.sha256()
        meta = {f.name: getattr(self.meta, f.name) for f in fields(self.meta) if f.name != "id"}
        if meta["kind"] == GRAPH_KINDS[0]:
            del meta["kind"]  # so attribution graphs keep the fingerprint they had before kinds existed
        h.update(json.dumps(meta, sort_keys=True, default=repr).encode())
        order = sorted(range(self.n_nodes), key=lambda i: self.nodes[i].id)
        names = [f.name for f in fields(Node)]
        h.update(json.dumps([[getattr(self.nodes[i], name) for name in names] for i in order]).encode())
        rank = np.empty(self.n_nodes, dtype=np.int64)
        rank[order] = np.arange(self.n_nodes)
        src, tgt = rank[self.sources], rank[self.targets]
        by_edge = np.lexsort((tgt, src))
        for arr in (src[by_edge], tgt[by_edge], self.weights[by_edge]):
            h.update(arr.tobytes())
        h.update(json.dumps(sorted((sn.name, sorted(sn.members)) for sn in self.supernodes)).encode())
        return h.hexdigest()

    def renamed(self, graph_id: str) -> AttributionGraph:
        """The same graph under another id (copies share the node table and edge arrays)."""
        return AttributionGraph(
            replace(self.meta, id=graph_id), self.nodes, self.sources, self.targets, self.weights, self.supernodes
        )

    def __repr__(self) -> str:
        return f"AttributionGraph({self.meta.id!r}, nodes={self.n_nodes}, edges={self.n_edges})"
