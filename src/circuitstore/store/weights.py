"""Writing the weights-only views of a transcoder set, one layer at a time (see the data model).

A layer's relationships are many (with top-k 10, about 100 per feature: 1.6M for a 16k-wide
layer), more than one transaction of a small server holds, so they go in batches, and the layer
counts as stored only once its `(:WeightsLayer)` marker is written, in the last transaction
with the automatic labels. A layer without a marker was interrupted: `store_layer` first removes
what it left, so a rerun writes it whole; a layer with one is skipped by the builder, so
re-running changes nothing. Shared Model, TranscoderSet, Feature and Vocab nodes are MERGEd and
keep the properties they have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from circuitstore.errors import CircuitstoreError
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher

# Relationships per transaction while a layer is written.
REL_BATCH = 20_000
# Relationship types and the statement that writes a batch of each.
STATEMENTS = {
    "DE_EMBEDDING": "weights_de_embedding",
    "LOGIT_LENS": "weights_logit_lens",
    "VIRTUAL_WEIGHT": "weights_virtual",
    "PULLBACK": "weights_pullback",
}


@dataclass
class WeightsLayer:
    """One layer's weights as the statements take them (built by compute.build_weights).

    `rows[TYPE]` lists one row per feature and list (of one kind): {f, w: [...], rank: [...]} and
    the other end(s) (`v` vocab ids, `e` earlier feature ids, `via` for pullbacks, `kind` for
    de-embeddings); rank is 1..k for the top list and -1..-k for the bottom one.
    """

    model: str
    transcoder_set: str
    layer: int
    top_k: int
    features: list[dict]  # {id, transcoder_set, layer, index, name}
    vocab: list[dict]  # {id, model, token_id, text, name}
    labels: list[dict]  # {id, auto_label, name}
    kinds: list[str]  # de-embedding kinds stored
    rows: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def marker_id(self) -> str:
        return f"{self.transcoder_set}/{self.layer}"

    def n_relationships(self) -> int:
        return sum(len(r["w"]) for rows in self.rows.values() for r in rows)


def stored_layers(driver: neo4j.Driver, transcoder_set: str) -> dict[int, dict[str, Any]]:
    """{layer: {top_k, model}} of the layers stored whole."""
    records, _, _ = driver.execute_query(cypher("weights_layers"), transcoder_set=transcoder_set)
    return {r["layer"]: {"top_k": r["top_k"], "model": r["model"]} for r in records}


def clear_layer(driver: neo4j.Driver, transcoder_set: str, layer: int) -> None:
    """Remove one layer's weights relationships and marker (all of them, stored whole or not)."""
    with driver.session() as session:
        session.run(cypher("weights_clear_layer"), transcoder_set=transcoder_set, layer=layer).consume()


def store_layer(driver: neo4j.Driver, weights: WeightsLayer, built: str, progress=None) -> None:
    """Write one layer (clearing whatever an earlier attempt left first); `progress(done, total)`
    follows the relationships written."""
    _check_finite(weights)
    clear_layer(driver, weights.transcoder_set, weights.layer)
    driver.execute_query(
        cypher("weights_nodes"),
        model=weights.model,
        transcoder_set=weights.transcoder_set,
        features=weights.features,
        vocab=weights.vocab,
    )
    total, done = weights.n_relationships(), 0
    for rel_type, rows in weights.rows.items():
        for batch in _batches(rows):
            driver.execute_query(cypher(STATEMENTS[rel_type]), rows=batch)
            done += sum(len(r["w"]) for r in batch)
            if progress:
                progress(done, total)
    marker = {
        "id": weights.marker_id,
        "transcoder_set": weights.transcoder_set,
        "model": weights.model,
        "layer": weights.layer,
        "top_k": weights.top_k,
        "n_features": len(weights.features),
        "kinds": weights.kinds,
        "built": built,
    }
    driver.execute_query(
        cypher("weights_finish_layer"), transcoder_set=weights.transcoder_set, labels=weights.labels, marker=marker
    )


def stored_top_tokens(driver: neo4j.Driver, transcoder_set: str, layer: int, kind: str) -> list[dict[str, Any]]:
    """The stored top de-embeddings of one layer and kind: rows {index, rank, token, weight}."""
    records, _, _ = driver.execute_query(
        cypher("weights_top_tokens"), transcoder_set=transcoder_set, layer=layer, kind=kind
    )
    return [r.data() for r in records]


def _batches(rows: list[dict]):
    batch, size = [], 0
    for row in rows:
        batch.append(row)
        size += len(row["w"])
        if size >= REL_BATCH:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _check_finite(weights: WeightsLayer) -> None:
    for rel_type, rows in weights.rows.items():
        for row in rows:
            if not all(math.isfinite(w) for w in row["w"]):
                raise CircuitstoreError(
                    f"layer {weights.layer} of {weights.transcoder_set!r}: a {rel_type} weight of {row['f']!r} is not "
                    "finite (are the transcoder's weights?)"
                )
