"""Feature labels and captions, derived from the graphs that carry each Feature (the label rule
is feature_labels.cypher, the caption rule captions.feature_caption; the data model explains both)."""

from __future__ import annotations

from collections.abc import Iterable

from circuitstore.captions import feature_caption
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.transaction import write

# Features relabelled per transaction by relabel_all: a few MB of transaction state.
_PAGE = 2000


def relabel_features(tx: neo4j.Transaction, feature_ids: Iterable[str]) -> None:
    """Re-derive the label and caption of these Features inside `tx`."""
    ids = sorted(set(feature_ids))
    if not ids:
        return
    rows = tx.run(cypher("feature_labels"), ids=ids)
    names = [
        {"id": r["id"], "name": feature_caption(r["layer"], r["index"], r["label"], r["auto_label"])} for r in rows
    ]
    tx.run(cypher("feature_names"), names=names).consume()


def relabel_all(driver: neo4j.Driver) -> int:
    """Re-derive every Feature's label and caption, a page of Features per transaction (for
    stores written before labels were derived); returns how many Features there are."""
    done, after = 0, ""
    while True:
        records, _, _ = driver.execute_query(cypher("feature_ids"), after=after, n=_PAGE)
        ids = [r["id"] for r in records]
        if not ids:
            return done
        write(driver, relabel_features, ids)
        done, after = done + len(ids), ids[-1]
