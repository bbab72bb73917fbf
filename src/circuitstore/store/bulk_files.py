"""The files Neo4j's offline importer reads (`neo4j-admin database import full`), written from
many graphs' GraphColumns: a header file and a header-less CSV per group of rows of one node
label or relationship type, written a batch at a time by pyarrow (edges straight from numpy).

A value goes in as the type the transactional path would store (a Python int as long, a float
as double, a list of str as string[], ...). A CSV column has one type, so the rows of a batch
whose values differ in type from the others (an int where the rest have floats) go to a file of
their own. What a CSV field cannot hold (an empty list, a list item that is empty or holds the
array delimiter) is left out of the files and kept as a fix-up, set with Cypher after the import
(store/bulk_fixups.cypher). Import ids are one integer space (`--id-type=integer`), never stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from circuitstore.errors import CircuitstoreError
from circuitstore.store.params import GraphColumns

# Between array items (--array-delimiter): prompt tokens may hold ';' and ','.
ARRAY = "\x1f"
# Rows buffered per group before they are written.
_FLUSH_ROWS = 200_000
_SCALARS = {str: "string", bool: "boolean", int: "long", float: "double"}
_ARROW = {"string": pa.string(), "boolean": pa.bool_(), "long": pa.int64(), "double": pa.float64()}
# How an array's items are written (None: strings as they are).
_ITEM = {"string[]": None, "double[]": repr, "long[]": str, "boolean[]": lambda x: "true" if x else "false"}


class BulkFiles:
    """Collects graphs (add) into importer files under `folder`; finish() writes what is
    buffered and the shared nodes, and returns the importer's --nodes / --relationships
    arguments. `fixups` then holds {"graphs": [{key, props}], "nodes": [{graph_id, node_id,
    props}]}: the values the files leave out."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._next_id = 0
        self._groups: dict[tuple, _Group] = {}
        self._models: dict[str, int] = {}
        self._sets: dict[str, tuple[int, str]] = {}  # transcoder set -> (import id, model)
        self._features: dict[str, tuple[int, dict]] = {}
        self._vocab: dict[str, tuple[int, dict]] = {}
        self.fixups: dict[str, list[dict]] = {"graphs": [], "nodes": []}
        self.graphs = self.nodes = self.edges = 0

    def _ids(self, n: int) -> int:
        first = self._next_id
        self._next_id += n
        return first

    def add(self, c: GraphColumns) -> None:
        gid = c.graph_id
        graph = self._ids(1)
        self._rows("nodes", "Graph", [graph], {k: [v] for k, v in c.graph.items()}, fixup=("graphs", [{"key": gid}]))
        model = self._models.get(c.graph["model"])
        if model is None:
            model = self._models[c.graph["model"]] = self._ids(1)
        ts = self._sets.get(c.graph["transcoder_set"])
        if ts is None:  # as MERGE ... ON CREATE: the first graph's model
            ts = self._sets[c.graph["transcoder_set"]] = (self._ids(1), c.graph["model"])
        self._link("OF_MODEL", [graph], [model])
        self._link("USES", [graph], [ts[0]])

        features = np.array([self._shared(self._features, f, _feature_merge) for f in c.features], dtype=np.int64)
        vocab = np.array([self._shared(self._vocab, v, _vocab_merge) for v in c.vocab], dtype=np.int64)
        base = self._ids(c.n_nodes)
        slots = np.arange(c.n_nodes)
        ids = slots + base
        props = {"graph_id": [gid] * c.n_nodes, **c.props}
        keys = [{"graph_id": gid, "node_id": n} for n in c.props["node_id"]]
        self._rows("nodes", "Node", ids, props, labels=c.labels, fixup=("nodes", keys))
        latent = c.feature >= 0
        self._link("INSTANCE_OF", ids[latent], features[c.feature[latent]])
        word = c.vocab_of >= 0
        self._link("IS", ids[word], vocab[c.vocab_of[word]])
        self._group("relationships", "ATTRIBUTION", (("weight", "double"), ("share", "double"))).add(
            {":START_ID": c.sources + base, ":END_ID": c.targets + base, "weight": c.weights, "share": c.shares}
        )
        for sn in c.supernodes:
            s = self._ids(1)
            self._rows("nodes", "Supernode", [s], {"graph_id": [gid], "name": [sn["name"]], "method": ["imported"]})
            self._link("HAS_SUPERNODE", [graph], [s])
            self._link("GROUPS", [s] * len(sn["members"]), np.asarray(sn["members"], dtype=np.int64) + base)
        self.graphs += 1
        self.nodes += c.n_nodes
        self.edges += len(c.weights)

    def finish(self) -> list[str]:
        self._rows("nodes", "Model", list(self._models.values()), {"id": list(self._models)})
        sets = list(self._sets.items())
        self._rows(
            "nodes",
            "TranscoderSet",
            [i for _, (i, _) in sets],
            {"id": [k for k, _ in sets], "model": [m for _, (_, m) in sets]},
        )
        for table, label in ((self._features, "Feature"), (self._vocab, "Vocab")):
            rows = [row for _, row in table.values()]
            self._rows(
                "nodes",
                label,
                [i for i, _ in table.values()],
                {k: [r[k] for r in rows] for k in rows[0]} if rows else {},
            )
        return [arg for group in self._groups.values() for arg in group.close()]

    # -- rows into groups -------------------------------------------------------------

    def _shared(self, table: dict[str, tuple[int, dict]], row: dict, merge) -> int:
        found = table.get(row["id"])
        if found is None:
            table[row["id"]] = found = (self._ids(1), dict(row))
        else:
            merge(found[1], row)
        return found[0]

    def _link(self, rel: str, starts: Iterable[int], ends: Iterable[int]) -> None:
        starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
        if len(starts):
            self._group("relationships", rel, ()).add({":START_ID": starts, ":END_ID": ends})

    def _rows(
        self,
        kind: str,
        name: str,
        ids: Iterable[int],
        columns: dict[str, list],
        *,
        labels: list[str] | None = None,
        fixup: tuple[str, list[dict]] | None = None,
    ) -> None:
        """Rows of node properties (None: not stored), split by the types their values have."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        typed: dict[str, list] = {}
        types: dict[str, str] = {}
        mixed: list[str] = []
        for prop, values in columns.items():
            t = _column_type(name, prop, values)
            if t == "mixed":
                mixed.append(prop)
            elif t is not None:
                types[prop] = t
                typed[prop] = values
        if mixed:  # each combination of types its own rows
            signature = [
                tuple(_type(name, p, columns[p][i]) if columns[p][i] is not None else None for p in mixed)
                for i in range(len(ids))
            ]
            for sig in dict.fromkeys(signature):
                pick = [i for i, s in enumerate(signature) if s == sig]
                self._rows(
                    kind,
                    name,
                    ids[pick],
                    {p: [v[i] for i in pick] for p, v in columns.items()},
                    labels=None if labels is None else [labels[i] for i in pick],
                    fixup=None if fixup is None else (fixup[0], [fixup[1][i] for i in pick]),
                )
            return
        data: dict[str, Any] = {":ID": ids}
        if labels is not None:
            data[":LABEL"] = labels
        for prop, values in typed.items():
            t = types[prop]
            if t.endswith("[]"):
                values = self._arrays(t, values, fixup, prop)
            data[prop] = values
        header = tuple((p, types[p]) for p in typed)
        self._group(kind, name, header, labels is not None).add(data)

    def _arrays(self, t: str, values: list, fixup: tuple[str, list[dict]] | None, prop: str) -> list[str | None]:
        """A list column as the importer reads it: each list's items joined by ARRAY (floats in
        their shortest exact form); a list it cannot hold is None there and a fix-up here."""
        item = _ITEM[t]
        texts = [None if v is None else ARRAY.join(v if item is None else map(item, v)) for v in values]
        for i, (v, text) in enumerate(zip(values, texts)):
            if v is not None and (not v or (item is None and ("" in v or text.count(ARRAY) != len(v) - 1))):
                if fixup is None:
                    raise AssertionError(f"{prop}: a list the importer cannot hold, in a table without fix-ups")
                self.fixups[fixup[0]].append({**fixup[1][i], "props": {prop: list(v)}})
                texts[i] = None
        return texts

    def _group(self, kind: str, name: str, header: tuple, labels: bool = False) -> _Group:
        key = (kind, name, header, labels)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(
                self.folder / f"{len(self._groups):03d}-{name}", kind, name, header, labels
            )
        return group


def _column_type(table: str, prop: str, values: list) -> str | None:
    """The one Neo4j type of a column's values; 'mixed' if they have several, None if all are
    None. An empty list fits any list column (it becomes a fix-up)."""
    kinds = {type(v) for v in values}
    kinds.discard(type(None))
    if not kinds:
        return None
    if len(kinds) > 1:
        return "mixed"
    if kinds == {list}:
        items = {type(x) for v in values if v is not None for x in v}
        if not items:
            return "string[]"
        if len(items) > 1:
            return "mixed"
        return _type(table, prop, [next(x for v in values if v for x in v)])
    return _type(table, prop, values[next(i for i, v in enumerate(values) if v is not None)])


def _type(table: str, prop: str, value: Any) -> str:
    """The Neo4j type a value is stored as."""
    scalar = _SCALARS.get(type(value))
    if scalar:
        return scalar
    if isinstance(value, list):
        items = {type(x) for x in value}
        if len(items) == 1 and next(iter(items)) in _SCALARS:
            return _SCALARS[next(iter(items))] + "[]"
        if not items:
            return "empty[]"
    raise CircuitstoreError(f"{table} property {prop!r}: Neo4j cannot store {value!r} as a property value")


def _feature_merge(stored: dict, row: dict) -> None:
    """A Feature's keys are the same in every graph (its label is derived after the import)."""


def _vocab_merge(stored: dict, row: dict) -> None:
    # as write_graph.cypher: an entry first met without text learns it from a later graph
    if stored["text"] is None and row["text"] is not None:
        stored["text"], stored["name"] = row["text"], row["name"]


class _Group:
    """One importer input group: a header file and a CSV of rows, written a batch at a time."""

    def __init__(self, stem: Path, kind: str, name: str, header: tuple, labels: bool) -> None:
        self.stem, self.kind, self.name = stem, kind, name
        ends = (":ID",) if kind == "nodes" else (":START_ID", ":END_ID")
        self.columns = [*ends, *((":LABEL",) if labels else ()), *(p for p, _ in header)]
        heads = [*ends, *((":LABEL",) if labels else ()), *(f"{p}:{t}" for p, t in header)]
        types = [pa.int64()] * len(ends) + [pa.string()] * labels + [_arrow(t) for _, t in header]
        self.schema = pa.schema([(f"c{i}", t) for i, t in enumerate(types)])
        Path(f"{stem}.header.csv").write_text(",".join(heads) + "\n", encoding="utf-8")
        self.path = Path(f"{stem}.csv")
        self.writer = pacsv.CSVWriter(
            str(self.path), self.schema, write_options=pacsv.WriteOptions(include_header=False)
        )
        self.buffer: dict[str, list] = {c: [] for c in self.columns}
        self.buffered = 0

    def add(self, data: dict[str, Any]) -> None:
        for c, f in zip(self.columns, self.schema):
            self.buffer[c].append(pa.array(data[c], f.type))
        self.buffered += len(data[self.columns[0]])
        if self.buffered >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.buffered:
            return
        arrays = [pa.concat_arrays(self.buffer[c]) for c in self.columns]
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.buffer = {c: [] for c in self.columns}
        self.buffered = 0

    def close(self) -> list[str]:
        self._flush()
        self.writer.close()
        return [f"--{self.kind}={self.name}={self.stem}.header.csv,{self.path}"]


def _arrow(t: str) -> pa.DataType:
    return pa.string() if t.endswith("[]") else _ARROW[t]
