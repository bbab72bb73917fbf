"""How close suggested supernodes come to hand-made ones: adjusted Rand index and pairwise
precision / recall / F1 over the hand-grouped nodes, per grouping method, graph by graph.

    .venv/bin/python -m bench.supernodes [--uri URI] [--keep]

(Run from the repository root, as a module, like every benchmark.)

Graphs with a known grouping:
- the two Claude 3.5 Haiku graphs in ../shared/graphs, against Anthropic's supernodes;
- the planted-circuit model's 18 prompts (compute/planted.py, computed here on the CPU in a few
  seconds), against planted.json's supernodes (Texas, capital, say Austin, ...), once pruned at
  the default thresholds (6 circuit latents a graph) and once at node and edge thresholds 1.0
  (the context features kept too). The planted rows give the mean over the 18 graphs (and the
  worst graph's ARI).
Each set is stored without any supernodes in a database that holds nothing else (the bench
refuses any other): the methods see what the store knows (labels, the set's other graphs) but
no hand-made group. Suggestions are as `circuitstore supernode suggest` makes them, with the
methods' default settings; "best" gives each method's best ARI over thresholds 0.1 to 0.9 (an
oracle: the threshold picked knowing the answer), so the baseline's default cannot be blamed.

Across prompts: the feature families each method builds from the 18 planted graphs, scored the
same way over the Features of planted.json's supernodes; and, with no known answer, how
stable the families of the eleven prefixed Dallas graphs are: the ARI between the families
built from two halves of them (alternate graphs), over the Features both halves group.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from circuitstore.compute import compute_graph, load_model, load_transcoders
from circuitstore.compute.planted import cached, prompts
from circuitstore.formats import read_graph
from circuitstore.graph import AttributionGraph, Supernode
from circuitstore.identity import feature_id
from circuitstore.neo4j_driver import neo4j
from circuitstore.schema import migrate
from circuitstore.server import connect
from circuitstore.settings import PLANTED, AttributionSettings
from circuitstore.store import delete_graph, list_graphs, store_graph
from circuitstore.store.families import build
from circuitstore.store.knowledge import knowledge
from circuitstore.supernodes import METHODS
from circuitstore.supernodes.agreement import Agreement, adjusted_rand_index, agreement
from circuitstore.supernodes.edge_profile import EdgeProfileSettings, edge_profile_clusters
from circuitstore.supernodes.evidence import EvidenceSettings, Knowledge, evidence_clusters
from circuitstore.supernodes.families import FamilySettings
from circuitstore.supernodes.suggest import suggest
from tests.data import GRAPHS_DIR

GRAPHS = GRAPHS_DIR
THRESHOLDS = [round(0.1 + 0.05 * i, 2) for i in range(17)]


def stripped(graph: AttributionGraph) -> AttributionGraph:
    """The graph without its supernodes."""
    return AttributionGraph(graph.meta, graph.nodes, graph.sources, graph.targets, graph.weights)


def planted_truth(graph: AttributionGraph, truth: dict) -> list[Supernode]:
    """planted.json's supernodes, as the latent nodes of `graph` that are their Features."""
    concept = {(layer, feature): name for name, fs in truth["supernodes"].items() for layer, feature in fs}
    groups: dict[str, list[str]] = {}
    for n in graph.nodes:
        if n.kind == "latent" and (n.layer, n.feature_index) in concept:
            groups.setdefault(concept[n.layer, n.feature_index], []).append(n.id)
    return [Supernode(name, tuple(members)) for name, members in sorted(groups.items())]


def best_ari(graph: AttributionGraph, hand: list[Supernode], method: str, known: Knowledge) -> tuple[float, float]:
    """(best ARI, its threshold) over THRESHOLDS."""
    best = (-1.0, 0.0)
    for t in THRESHOLDS:
        if method == "edge-profile":
            rows, clusters = edge_profile_clusters(graph, settings=EdgeProfileSettings(threshold=t))
        else:
            rows, clusters = evidence_clusters(graph, known, settings=EvidenceSettings(threshold=t))
        score = agreement(hand, [[graph.nodes[rows[k]].id for k in c.members] for c in clusters]).ari
        best = max(best, (score, -t))
    return best[0], -best[1]


def evaluate(driver: neo4j.Driver, graphs: list[AttributionGraph], truth: list[list[Supernode]]) -> dict:
    """{method: [(Agreement, groups, best ARI, its threshold)]}, graph by graph; the graphs are
    stored (without supernodes) for the duration."""
    for g in graphs:
        store_graph(driver, stripped(g))
    out: dict[str, list] = {m: [] for m in METHODS}
    for g, hand in zip(graphs, truth):
        known = knowledge(driver, g)
        for method in METHODS:
            found = suggest(g, method, known if method == "evidence" else Knowledge())
            score = agreement(hand, [s.members for s in found])
            out[method].append((score, len(found), *best_ari(g, hand, method, known)))
    return out


def family_agreement(driver: neo4j.Driver, graphs: list[AttributionGraph], truth: dict) -> dict[str, Agreement]:
    """Per method, the families built from the stored `graphs` against planted.json's concepts,
    over the concept Features the graphs hold."""
    ts = graphs[0].meta.transcoder_set
    held = {feature_id(ts, n.layer, n.feature_index) for g in graphs for n in g.nodes if n.kind == "latent"}
    hand = [
        Supernode(name, tuple(f for layer, i in fs if (f := feature_id(ts, layer, i)) in held))
        for name, fs in sorted(truth["supernodes"].items())
    ]
    hand = [h for h in hand if h.members]
    return {m: agreement(hand, [f.features for f in build(driver, graphs, m)]) for m in METHODS}


def split_half(driver: neo4j.Driver, graphs: list[AttributionGraph]) -> dict[str, tuple[float, int, int]]:
    """Per method, (ARI between the families of alternate halves of `graphs`, Features compared,
    families in the first half)."""
    out = {}
    for method in METHODS:
        halves = [build(driver, graphs[k::2], method, FamilySettings()) for k in (0, 1)]
        labels = [{f: i for i, fam in enumerate(h) for f in fam.features} for h in halves]
        both = sorted(labels[0].keys() & labels[1].keys())
        ari = adjusted_rand_index({f: labels[0][f] for f in both}, {f: labels[1][f] for f in both}) if both else 0.0
        out[method] = (ari, len(both), len(halves[0]))
    return out


def planted_graphs(settings: AttributionSettings) -> tuple[list[AttributionGraph], dict]:
    model = load_model(PLANTED)
    transcoders = load_transcoders(PLANTED, model)
    truth = json.loads(cached().planted.read_text(encoding="utf-8"))
    return [compute_graph(model, transcoders, text, settings) for text, _, _ in prompts()], truth


def clean(driver: neo4j.Driver) -> None:
    """Delete the families (first, so that their Features go with the graphs), then the graphs."""
    driver.execute_query("MATCH (x:FeatureFamily) DETACH DELETE x")
    for row in list_graphs(driver):
        delete_graph(driver, row["id"])


def table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uri", help="Bolt URI of an empty database (default: the local circuitstore server)")
    ap.add_argument("--keep", action="store_true", help="leave the last set's graphs and families stored")
    args = ap.parse_args()
    torch.set_num_threads(1)
    driver = connect(args.uri)
    migrate(driver)
    if list_graphs(driver):
        raise SystemExit("the bench needs an empty database: its methods read what the store knows")
    start = time.perf_counter()
    head = ["graphs", "method", "ARI", "precision", "recall", "F1", "groups", "best ARI (threshold)", "worst ARI"]
    rows = [head]

    def add(label: str, results: dict, which: slice = slice(None)) -> None:
        for method, every in results.items():
            per_graph = every[which]

            def mean(pick, per_graph=per_graph) -> float:
                return statistics.mean(pick(r) for r in per_graph)

            rows.append(
                [
                    label,
                    method,
                    f"{mean(lambda r: r[0].ari):.3f}",
                    f"{mean(lambda r: r[0].precision):.3f}",
                    f"{mean(lambda r: r[0].recall):.3f}",
                    f"{mean(lambda r: r[0].f1):.3f}",
                    f"{mean(lambda r: r[1]):.1f}",
                    f"{mean(lambda r: r[2]):.3f} ({statistics.median(r[3] for r in per_graph):.2f})",
                    f"{min(r[0].ari for r in per_graph):.3f}",
                ]
            )

    try:
        haiku = [read_graph(p) for p in sorted((GRAPHS / "claude-haiku").glob("*.json"))]
        results = evaluate(driver, haiku, [list(g.supernodes) for g in haiku])
        for k, g in enumerate(haiku):
            add(
                f"haiku {g.meta.id} ({len({m for s in g.supernodes for m in s.members})} nodes)",
                results,
                slice(k, k + 1),
            )
        clean(driver)
        families: dict[str, dict[str, Agreement]] = {}
        for label, settings in (
            ("planted, pruned", AttributionSettings()),
            ("planted, thresholds 1.0", AttributionSettings(node_threshold=1.0, edge_threshold=1.0)),
        ):
            graphs, truth = planted_graphs(settings)
            add(f"{label} (18 graphs)", evaluate(driver, graphs, [planted_truth(g, truth) for g in graphs]))
            families[label] = family_agreement(driver, graphs, truth)
            clean(driver)
        prefixed = [read_graph(p) for p in sorted((GRAPHS / "gemma-2-2b-clt-prefixed").glob("*.json"))]
        for g in prefixed:
            store_graph(driver, stripped(g))
        halves = split_half(driver, prefixed)
    finally:
        if not args.keep:
            clean(driver)
        driver.close()

    print("Per graph, over the hand-grouped nodes (planted: mean over the graphs):")
    table(rows)
    print("\nAcross prompts, feature families against planted.json's concepts (over the concept Features):")
    fam = [["graphs", "method", "ARI", "precision", "recall", "F1", "Features"]]
    for label, by_method in families.items():
        for method, a in by_method.items():
            fam.append(
                [label, method, f"{a.ari:.3f}", f"{a.precision:.3f}", f"{a.recall:.3f}", f"{a.f1:.3f}", str(a.nodes)]
            )
    table(fam)
    print("\nStability across prompts: families of the prefixed Dallas graphs, alternate halves (6 and 5 graphs):")
    stab = [["graphs", "method", "ARI between halves", "Features in both", "families (first half)"]]
    for method, (ari, n, k) in halves.items():
        stab.append(["prefixed Dallas", method, f"{ari:.3f}", str(n), str(k)])
    table(stab)
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
