"""The `evidence` method: group latents by weighing what the graph says about them together with
what the store knows beyond it.

For each pair of candidate latents it asks up to five questions, each answered by a similarity
in [0, 1] where there is evidence, and takes the weighted mean of the answers there are:

- role (weight 1, always): do they read from and write to the same nodes of this graph? The mean
  of the cosines of their signed incoming and outgoing edge profiles, each neighbour weighted by
  its rarity among the candidates (profiles.edge_profiles with idf), negative taken as 0. The
  baseline's question, minus the hubs that every latent shares.
- elsewhere (weight 1): do their Features play the same role in the other stored graphs that
  hold both? The role similarity there (of their best-matching occurrences), averaged over
  those graphs: one prompt's noise averages out over many.
- grouped (weight 2): where both Features were grouped elsewhere (the hand-made supernodes of
  other graphs, the feature families), how often together: direct evidence of a shared role.
- label (weight 1): how much their labels overlap in words (each latent's own label, else the
  label the store knows for its Feature, else its automatic label from the weights).
- weights (weight 1): do the weights alone say they are alike? Where the store holds the
  transcoder set's weights, the cosine of their de-embedding, logit-lens and virtual-weight
  lists (what tokens excite them, what tokens they promote, which features they read and feed),
  averaged over the lists both have.

The mean is then multiplied by `other_position` (0.5) for two latents at different positions: a
hand-made group mostly lies at one position, yet not always ("capital" features at " capital"
and at the last token). The weights and the threshold (0.35) were set by reasoning and a look
at the Haiku graphs, the only hand-grouped real graphs there are; bench/supernodes.py shows how
the agreement moves with the threshold.
Groups come from average-link agglomerative clustering over that similarity (clustering.py)
down to `threshold`, each merge joining groups with at least one pair within two steps of each
other in the graph (an edge, or a node both are joined to), so every group is connected. A
group's score is the mean similarity of its pairs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from circuitstore.graph import AttributionGraph
from circuitstore.identity import feature_id
from circuitstore.supernodes.clustering import Cluster, agglomerate
from circuitstore.supernodes.naming import word_overlap, words
from circuitstore.supernodes.profiles import cosine, edge_profiles, latent_rows, within_two_steps


@dataclass(frozen=True)
class Knowledge:
    """What the store knows beyond the graph being grouped; every part may be empty.

    - labels: Feature id -> the label the store knows for it (an imported label, else the
      automatic one from the weights);
    - others: other stored graphs of the same transcoder set that share Features with it;
    - groupings: groupings made elsewhere, each a list of groups of Feature ids (one graph's
      hand-made supernodes; the feature families);
    - weights: Feature id -> {list name: {key: weight}}, the weights lists the store holds for it
      (de-embedding tokens, logit-lens tokens, virtual weights up and down).
    """

    labels: Mapping[str, str] = field(default_factory=dict)
    others: Sequence[AttributionGraph] = ()
    groupings: Sequence[Sequence[Collection[str]]] = ()
    weights: Mapping[str, Mapping[str, Mapping[str, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class EvidenceSettings:
    threshold: float = 0.35
    other_position: float = 0.5  # factor for two latents at different positions
    role: float = 1.0  # the weight of each kind of evidence
    elsewhere: float = 1.0
    grouped: float = 2.0
    label: float = 1.0
    weights: float = 1.0


def role_similarity(graph: AttributionGraph, rows: list[int]) -> np.ndarray:
    """The `role` evidence between the latents in `rows`: the mean of their incoming and outgoing
    rarity-weighted profile cosines, at least 0."""
    incoming, outgoing = edge_profiles(graph, rows, idf=True)
    return np.clip((cosine(incoming) + cosine(outgoing)) / 2, 0.0, 1.0)


def features_of(graph: AttributionGraph, rows: list[int]) -> list[str]:
    ts = graph.meta.transcoder_set
    return [feature_id(ts, graph.nodes[i].layer, graph.nodes[i].feature_index) for i in rows]


def node_labels(graph: AttributionGraph, rows: list[int], knowledge: Knowledge) -> list[str | None]:
    """Each latent's own label, else the one the store knows for its Feature."""
    return [
        graph.nodes[i].label or knowledge.labels.get(f) for i, f in zip(rows, features_of(graph, rows), strict=True)
    ]


class _Evidence:
    """A weighted sum of similarities and the total weight behind it, pair by pair."""

    def __init__(self, n: int) -> None:
        self.total = np.zeros((n, n))
        self.weight = np.zeros((n, n))

    def add(self, weight: float, values: np.ndarray, present: np.ndarray | None = None) -> None:
        mask = np.ones_like(values, dtype=bool) if present is None else present
        self.total += np.where(mask, weight * values, 0.0)
        self.weight += np.where(mask, weight, 0.0)

    def mean(self) -> np.ndarray:
        return np.divide(self.total, self.weight, out=np.zeros_like(self.total), where=self.weight > 0)


class _PerFeature:
    """Observations about pairs of Features, summed, and spread onto the latents that are their
    instances: `index[f]` is Feature f's row, `of_row[k]` the Feature of candidate latent k."""

    def __init__(self, features: list[str]) -> None:
        self.index = {f: i for i, f in enumerate(sorted(set(features)))}
        self.of_row = np.array([self.index[f] for f in features], dtype=np.int64)
        n = len(self.index)
        self.total = np.zeros((n, n))
        self.count = np.zeros((n, n))

    def add(self, rows: np.ndarray, values: np.ndarray) -> None:
        """One observation for each pair of the distinct Features `rows` (Feature indices), of
        value `values[i, j]`."""
        block = np.ix_(rows, rows)
        apart = ~np.eye(len(rows), dtype=bool)
        self.total[block] += np.where(apart, values, 0.0)
        self.count[block] += apart

    def spread(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean observation, observed) for each pair of candidate latents."""
        mean = np.divide(self.total, self.count, out=np.zeros_like(self.total), where=self.count > 0)
        k = self.of_row
        return mean[np.ix_(k, k)], (self.count > 0)[np.ix_(k, k)]


def elsewhere_similarity(features: list[str], others: Sequence[AttributionGraph]) -> tuple[np.ndarray, np.ndarray]:
    """For each pair of candidates, the role similarity of their Features in the other graphs
    holding both (in each, that of their best-matching occurrences), averaged over those graphs:
    (mean, observed)."""
    seen = _PerFeature(features)
    for other in others:
        rows = latent_rows(other)
        theirs = features_of(other, rows)
        keep = [k for k, f in enumerate(theirs) if f in seen.index]
        if len(keep) < 2:
            continue
        role = role_similarity(other, rows)[np.ix_(keep, keep)]
        fids = np.array([seen.index[theirs[k]] for k in keep], dtype=np.int64)
        best = np.zeros((len(seen.index),) * 2)
        np.maximum.at(best, (fids[:, None], fids[None, :]), role)
        present = np.unique(fids)
        seen.add(present, best[np.ix_(present, present)])
    return seen.spread()


def grouped_together(features: list[str], groupings: Sequence[Sequence[Collection[str]]]) -> tuple:
    """For each pair of candidates whose Features a grouping elsewhere holds both of, the share
    of those groupings that put them in one group: (mean, observed)."""
    seen = _PerFeature(features)
    for grouping in groupings:
        groups = [[seen.index[f] for f in group if f in seen.index] for group in grouping]
        present = np.array(sorted({i for group in groups for i in group}), dtype=np.int64)
        if len(present) < 2:
            continue
        where = {f: k for k, f in enumerate(present.tolist())}
        member = np.zeros((len(present), len(groups)))
        for g, group in enumerate(groups):
            member[[where[i] for i in group], g] = 1.0
        seen.add(present, ((member @ member.T) > 0).astype(np.float64))
    return seen.spread()


def weights_similarity(features: list[str], weights: Mapping[str, Mapping[str, Mapping[str, float]]]) -> tuple:
    """(mean over the weights lists both Features have of the cosine of those lists, present)."""
    n = len(features)
    total, count = np.zeros((n, n)), np.zeros((n, n))
    kinds = sorted({kind for f in features for kind in weights.get(f, {})})
    for kind in kinds:
        keys = sorted({key for f in features for key in weights.get(f, {}).get(kind, {})})
        if not keys:
            continue
        column = {key: c for c, key in enumerate(keys)}
        matrix = np.zeros((n, len(keys)))
        has = np.zeros(n, dtype=bool)
        for r, f in enumerate(features):
            entries = weights.get(f, {}).get(kind)
            if entries:
                has[r] = True
                for key, w in entries.items():
                    matrix[r, column[key]] = w
        norms = np.linalg.norm(matrix, axis=1)
        unit = np.divide(matrix, norms[:, None], out=np.zeros_like(matrix), where=norms[:, None] > 0)
        both = has[:, None] & has[None, :] & (norms[:, None] > 0) & (norms[None, :] > 0)
        total += np.where(both, np.clip(unit @ unit.T, 0.0, 1.0), 0.0)
        count += both
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0), count > 0


def evidence_similarity(
    graph: AttributionGraph, rows: list[int], knowledge: Knowledge, settings: EvidenceSettings
) -> np.ndarray:
    """The combined similarity between the latents in `rows` (the module docstring)."""
    n = len(rows)
    features = features_of(graph, rows)
    evidence = _Evidence(n)
    evidence.add(settings.role, role_similarity(graph, rows))
    if knowledge.others:
        evidence.add(settings.elsewhere, *elsewhere_similarity(features, knowledge.others))
    if knowledge.groupings:
        evidence.add(settings.grouped, *grouped_together(features, knowledge.groupings))
    bags = [words(label) for label in node_labels(graph, rows, knowledge)]
    has_words = np.array([bool(b) for b in bags])
    overlap = np.array([[word_overlap(a, b) for b in bags] for a in bags]) if n else np.zeros((0, 0))
    evidence.add(settings.label, overlap, has_words[:, None] & has_words[None, :])
    if knowledge.weights:
        evidence.add(settings.weights, *weights_similarity(features, knowledge.weights))
    positions = np.array([graph.nodes[i].position for i in rows])
    apart = positions[:, None] != positions[None, :]
    return evidence.mean() * np.where(apart, settings.other_position, 1.0)


def evidence_clusters(
    graph: AttributionGraph,
    knowledge: Knowledge = Knowledge(),
    exclude: Collection[str] = (),
    settings: EvidenceSettings = EvidenceSettings(),
) -> tuple[list[int], list[Cluster]]:
    """(the candidate latents as node indices, the clusters over them)."""
    rows = latent_rows(graph, exclude)
    if len(rows) < 2:
        return rows, []
    similarity = evidence_similarity(graph, rows, knowledge, settings)
    clusters = agglomerate(similarity, settings.threshold, linkage="average", linked=within_two_steps(graph, rows))
    return rows, clusters
