"""The files Neo4j's offline importer reads (`neo4j-admin database import full`), written from
many graphs' GraphColumns: a header file and a header-less CSV per group of rows of one node
label or relationship type, written a batch at a time by pyarrow (edges straight from numpy).
A graph's rows are typed and formatted apart from the files (`stage`, in bulk.py's worker
processes, where most of the Python work then runs); the files' writer only numbers them.

A value goes in as the type the transactional path would store (a Python int as long, a float
as double, a list of str as string[], ...). A CSV column has one type, so the rows of a batch
whose values differ in type from the others (an int where the rest have floats) go to a file of
their own. What a CSV field cannot hold (an empty list, a list item that is empty or holds the
array delimiter) is left out of the files and kept as a fix-up, set with Cypher after the import
(store/bulk_fixups.cypher). Import ids are one integer space (`--id-type=integer`), never stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
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


@dataclass
class Staged:
    """One graph's importer rows, typed and formatted, before the graph has import ids: what
    a worker process prepares (`stage`), so that the process writing the files only numbers
    them. Ids in `parts` are the graph's own: 0 the :Graph, 1 + slot a node, then supernodes."""

    graph_id: str
    fingerprint: str
    model: str
    transcoder_set: str
    parts: list[tuple[tuple, list[pa.Array]]]  # (group key, its columns), ends as own ids
    features: list[dict]  # the shared nodes the graph's slots link to, as GraphColumns has them
    vocab: list[dict]
    feature: np.ndarray  # per slot: index into `features`, -1 for none
    vocab_of: np.ndarray
    fixups: dict[str, list[dict]]
    n_ids: int
    nodes: int
    edges: int


def stage(c: GraphColumns) -> Staged:
    """The importer rows of one graph (see Staged); a value Neo4j cannot store raises."""
    gid = c.graph_id
    parts: list[tuple[tuple, list[pa.Array]]] = []
    fixups: dict[str, list[dict]] = {"graphs": [], "nodes": []}
    graph_columns = {k: [v] for k, v in c.graph.items()}
    parts += _parts("nodes", "Graph", np.zeros(1, np.int64), graph_columns, fixups, fixup=("graphs", [{"key": gid}]))
    ids = np.arange(c.n_nodes, dtype=np.int64) + 1
    props = {"graph_id": [gid] * c.n_nodes, **c.props}
    keys = [{"graph_id": gid, "node_id": n} for n in c.props["node_id"]]
    parts += _parts("nodes", "Node", ids, props, fixups, labels=c.labels, fixup=("nodes", keys))
    attribution = ("relationships", "ATTRIBUTION", (("weight", "double"), ("share", "double")), False)
    parts.append((attribution, _arrays_of(attribution, [c.sources + 1, c.targets + 1, c.weights, c.shares])))
    at = 1 + c.n_nodes
    for sn in c.supernodes:
        row = {"graph_id": [gid], "name": [sn["name"]], "method": ["imported"]}
        parts += _parts("nodes", "Supernode", np.array([at]), row, fixups)
        parts += _links("HAS_SUPERNODE", [0], [at])
        parts += _links("GROUPS", [at] * len(sn["members"]), np.asarray(sn["members"], dtype=np.int64) + 1)
        at += 1
    return Staged(
        graph_id=gid,
        fingerprint=c.fingerprint,
        model=c.graph["model"],
        transcoder_set=c.graph["transcoder_set"],
        parts=parts,
        features=c.features,
        vocab=c.vocab,
        feature=c.feature,
        vocab_of=c.vocab_of,
        fixups=fixups,
        n_ids=at,
        nodes=c.n_nodes,
        edges=len(c.weights),
    )


class BulkFiles:
    """Collects graphs (add, of Staged rows) into importer files under `folder`; finish() writes
    what is buffered and the shared nodes, and returns the importer's --nodes / --relationships
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

    def add(self, s: Staged) -> None:
        base = self._ids(s.n_ids)
        for key, arrays in s.parts:  # the graph's own ids become import ids
            ends = len(_ends(key[0]))
            self._group(key).add([pc.add(a, base) if i < ends else a for i, a in enumerate(arrays)])
        model = self._models.get(s.model)
        if model is None:
            model = self._models[s.model] = self._ids(1)
        ts = self._sets.get(s.transcoder_set)
        if ts is None:  # as MERGE ... ON CREATE: the first graph's model
            ts = self._sets[s.transcoder_set] = (self._ids(1), s.model)
        self._put(_links("OF_MODEL", [base], [model]) + _links("USES", [base], [ts[0]]))
        features = np.array([self._shared(self._features, f, _feature_merge) for f in s.features], dtype=np.int64)
        vocab = np.array([self._shared(self._vocab, v, _vocab_merge) for v in s.vocab], dtype=np.int64)
        ids = np.arange(s.nodes, dtype=np.int64) + base + 1
        latent, word = s.feature >= 0, s.vocab_of >= 0
        self._put(_links("INSTANCE_OF", ids[latent], features[s.feature[latent]]))
        self._put(_links("IS", ids[word], vocab[s.vocab_of[word]]))
        for kind, rows in s.fixups.items():
            self.fixups[kind] += rows
        self.graphs += 1
        self.nodes += s.nodes
        self.edges += s.edges

    def finish(self) -> list[str]:
        parts = _parts("nodes", "Model", np.array(list(self._models.values())), {"id": list(self._models)}, self.fixups)
        sets = list(self._sets.items())
        parts += _parts(
            "nodes",
            "TranscoderSet",
            np.array([i for _, (i, _) in sets]),
            {"id": [k for k, _ in sets], "model": [m for _, (_, m) in sets]},
            self.fixups,
        )
        for table, label in ((self._features, "Feature"), (self._vocab, "Vocab")):
            rows = [row for _, row in table.values()]
            ids = np.array([i for i, _ in table.values()], dtype=np.int64)
            columns = {k: [r[k] for r in rows] for k in rows[0]} if rows else {}
            parts += _parts("nodes", label, ids, columns, self.fixups)
        self._put(parts)
        return [arg for group in self._groups.values() for arg in group.close()]

    def _shared(self, table: dict[str, tuple[int, dict]], row: dict, merge) -> int:
        found = table.get(row["id"])
        if found is None:
            table[row["id"]] = found = (self._ids(1), dict(row))
        else:
            merge(found[1], row)
        return found[0]

    def _put(self, parts: list[tuple[tuple, list[pa.Array]]]) -> None:
        for key, arrays in parts:
            self._group(key).add(arrays)

    def _group(self, key: tuple) -> _Group:
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(self.folder / f"{len(self._groups):03d}-{key[1]}", *key)
        return group


# -- rows into typed columns (pure: run in the worker processes) --------------------------------


def _links(rel: str, starts: Iterable[int], ends: Iterable[int]) -> list[tuple[tuple, list[pa.Array]]]:
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    key = ("relationships", rel, (), False)
    return [(key, _arrays_of(key, [starts, ends]))] if len(starts) else []


def _parts(
    kind: str,
    name: str,
    ids: np.ndarray,
    columns: dict[str, list],
    fixups: dict[str, list[dict]],
    *,
    labels: list[str] | None = None,
    fixup: tuple[str, list[dict]] | None = None,
) -> list[tuple[tuple, list[pa.Array]]]:
    """Rows of node properties (None: not stored), split by the types their values have, as
    (group key, columns); what a CSV field cannot hold goes to `fixups`."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return []
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
        parts = []
        for sig in dict.fromkeys(signature):
            pick = [i for i, s in enumerate(signature) if s == sig]
            parts += _parts(
                kind,
                name,
                ids[pick],
                {p: [v[i] for i in pick] for p, v in columns.items()},
                fixups,
                labels=None if labels is None else [labels[i] for i in pick],
                fixup=None if fixup is None else (fixup[0], [fixup[1][i] for i in pick]),
            )
        return parts
    data: list = [ids]
    if labels is not None:
        data.append(labels)
    for prop, values in typed.items():
        t = types[prop]
        data.append(_array_texts(t, values, fixups, fixup, prop) if t.endswith("[]") else values)
    key = (kind, name, tuple((p, types[p]) for p in typed), labels is not None)
    return [(key, _arrays_of(key, data))]


def _array_texts(
    t: str, values: list, fixups: dict[str, list[dict]], fixup: tuple[str, list[dict]] | None, prop: str
) -> list[str | None]:
    """A list column as the importer reads it: each list's items joined by ARRAY (floats in
    their shortest exact form); a list it cannot hold is None there and a fix-up in `fixups`."""
    item = _ITEM[t]
    texts = [None if v is None else ARRAY.join(v if item is None else map(item, v)) for v in values]
    for i, (v, text) in enumerate(zip(values, texts)):
        if v is not None and (not v or (item is None and ("" in v or text.count(ARRAY) != len(v) - 1))):
            if fixup is None:
                raise AssertionError(f"{prop}: a list the importer cannot hold, in a table without fix-ups")
            fixups[fixup[0]].append({**fixup[1][i], "props": {prop: list(v)}})
            texts[i] = None
    return texts


def _arrays_of(key: tuple, data: list) -> list[pa.Array]:
    return [pa.array(values, f.type) for values, f in zip(data, _schema(*key))]


def _ends(kind: str) -> tuple[str, ...]:
    """The id columns of a group of nodes or of relationships."""
    return (":ID",) if kind == "nodes" else (":START_ID", ":END_ID")


def _schema(kind: str, name: str, header: tuple, labels: bool) -> pa.Schema:
    """A group's columns: its ends (_ends), :LABEL, its properties."""
    types = [pa.int64()] * len(_ends(kind)) + [pa.string()] * labels + [_arrow(t) for _, t in header]
    return pa.schema([(f"c{i}", t) for i, t in enumerate(types)])


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
        heads = [*_ends(kind), *((":LABEL",) if labels else ()), *(f"{p}:{t}" for p, t in header)]
        self.schema = _schema(kind, name, header, labels)
        Path(f"{stem}.header.csv").write_text(",".join(heads) + "\n", encoding="utf-8")
        self.path = Path(f"{stem}.csv")
        self.writer = pacsv.CSVWriter(
            str(self.path), self.schema, write_options=pacsv.WriteOptions(include_header=False)
        )
        self.buffer: list[list[pa.Array]] = []
        self.buffered = 0

    def add(self, arrays: list[pa.Array]) -> None:
        self.buffer.append(arrays)
        self.buffered += len(arrays[0])
        if self.buffered >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.buffered:
            return
        columns = [pa.concat_arrays(list(c)) for c in zip(*self.buffer)]
        self.writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))
        self.buffer = []
        self.buffered = 0

    def close(self) -> list[str]:
        self._flush()
        self.writer.close()
        return [f"--{self.kind}={self.name}={self.stem}.header.csv,{self.path}"]


def _arrow(t: str) -> pa.DataType:
    return pa.string() if t.endswith("[]") else _ARROW[t]
