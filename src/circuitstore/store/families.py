"""Feature families in the store: building them from many graphs' groupings, listing them.

`(:FeatureFamily {id, name, method, transcoder_set, score, n_features, n_graphs, graphs,
built})-[:INCLUDES]->(:Feature)` (see the data model). A graph's say (its groups) for a build
of method M: its imported and manual supernodes, plus, unless M is "hand-made", M's suggestions
for its other latents, as `circuitstore supernode suggest --method M` would give them (not
stored). A build replaces the families its method built before for that transcoder set, in one
transaction; other methods' stay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from circuitstore.errors import CircuitstoreError
from circuitstore.graph import AttributionGraph
from circuitstore.identity import feature_id
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.knowledge import knowledge
from circuitstore.store.supernodes import list_supernodes
from circuitstore.supernodes import FAMILY_METHODS, HAND_MADE
from circuitstore.supernodes.evidence import Knowledge
from circuitstore.supernodes.families import Family, FamilySettings, GraphGroups, build_families
from circuitstore.supernodes.suggest import suggest


def graph_groups(
    driver: neo4j.Driver, graph: AttributionGraph, method: str, loaded: Mapping[str, AttributionGraph]
) -> GraphGroups:
    """One graph's say in a build of `method` (the module docstring); `loaded` holds the graphs
    of the build, so the evidence method reads them from memory."""
    ts = graph.meta.transcoder_set
    nodes = {n.id: n for n in graph.nodes}

    def features(members: Sequence[str]) -> frozenset[str]:
        latents = [nodes[m] for m in members if nodes[m].kind == "latent"]
        return frozenset(feature_id(ts, n.layer, n.feature_index) for n in latents)

    hand = [r["members"] for r in list_supernodes(driver, graph.meta.id) if r["method"] in HAND_MADE]
    groups = [features(m) for m in hand]
    if method != "hand-made":
        known = knowledge(driver, graph, loaded=loaded, families=False) if method == "evidence" else Knowledge()
        exclude = {m for members in hand for m in members}
        found = suggest(graph, method, known, exclude)
        groups += [features(s.members) for s in found]
    tokens: dict[str, list[str]] = defaultdict(list)
    for n in graph.nodes:
        if n.kind == "latent" and n.position < len(graph.meta.prompt_tokens):
            tokens[feature_id(ts, n.layer, n.feature_index)].append(graph.meta.prompt_tokens[n.position])
    present = frozenset(feature_id(ts, n.layer, n.feature_index) for n in graph.nodes if n.kind == "latent")
    return GraphGroups(
        graph.meta.id, present, tuple(g for g in groups if len(g) > 1), {f: tuple(t) for f, t in tokens.items()}
    )


def build(
    driver: neo4j.Driver,
    graphs: Sequence[AttributionGraph],
    method: str,
    settings: FamilySettings = FamilySettings(),
) -> list[Family]:
    """Build and store the families of `graphs` (all of one transcoder set) by `method`,
    replacing that method's earlier ones for the set; return them."""
    if method not in FAMILY_METHODS:
        raise CircuitstoreError(f"no family method {method!r}; the methods are: {', '.join(FAMILY_METHODS)}")
    sets = sorted({g.meta.transcoder_set for g in graphs})
    if len(sets) != 1:
        raise CircuitstoreError(f"a family build takes graphs of one transcoder set, got {', '.join(sets)}")
    loaded = {g.meta.id: g for g in graphs}
    observed = [graph_groups(driver, g, method, loaded) for g in graphs]
    features = sorted({f for o in observed for f in o.features})
    records = driver.execute_query(
        cypher("family_features"), features=features, routing_=neo4j.RoutingControl.READ
    ).records
    labels = {r["feature"]: r["label"] for r in records if r["label"]}
    layers = {r["feature"]: r["layer"] for r in records}
    families = build_families(observed, labels, layers, settings)
    save_families(driver, sets[0], method, families)
    return families


def family_ids(transcoder_set: str, method: str, families: Sequence[Family]) -> list[str]:
    """`<transcoder set>/families/<method>/<k>`, k = 1, 2, ... in the order built (most widespread
    first); no Feature id has that shape, so the two never clash in query rows."""
    return [f"{transcoder_set}/families/{method}/{k}" for k in range(1, len(families) + 1)]


def save_families(driver: neo4j.Driver, transcoder_set: str, method: str, families: Sequence[Family]) -> None:
    rows = [
        {"id": i, "name": f.name, "score": f.score, "features": list(f.features), "graphs": list(f.graphs)}
        for i, f in zip(family_ids(transcoder_set, method, families), families)
    ]
    built = datetime.now(UTC).isoformat(timespec="seconds")

    def work(tx: neo4j.ManagedTransaction) -> None:
        tx.run(cypher("family_clear"), transcoder_set=transcoder_set, method=method).consume()
        params = {"transcoder_set": transcoder_set, "method": method, "built": built, "families": rows}
        included = tx.run(cypher("family_create"), **params).single(strict=True)["included"]
        if included != sum(len(r["features"]) for r in rows):
            raise CircuitstoreError(f"a Feature of {transcoder_set!r} went missing during the build; build again")

    with driver.session() as session:
        session.execute_write(work)


def list_families(driver: neo4j.Driver, transcoder_set: str | None = None, method: str | None = None) -> list[dict]:
    records, _, _ = driver.execute_query(
        cypher("family_list"), transcoder_set=transcoder_set, method=method, routing_=neo4j.RoutingControl.READ
    )
    return [r.data() for r in records]
