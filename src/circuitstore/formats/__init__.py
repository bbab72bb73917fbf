"""Read and write attribution graphs in the Neuronpedia / circuit-tracer graph JSON format
(`metadata`, `qParams`, `nodes`, `links`; see shared/graphs/neuronpedia-graph-schema.json).

    read_graph(path) -> AttributionGraph        parse_graph(obj, origin=...) -> AttributionGraph
    write_graph(graph, path)                     dump_graph(graph) -> dict
    dumps_graph(graph, origin=...) -> bytes

Any bad input raises FormatError, one line that starts with the path (or origin); JSON that is
no graph file at all (no metadata, nodes or links) raises its subclass NotAGraphFile.

How a file maps onto an AttributionGraph:

- Kind comes from `feature_type` alone, never from the id: `embedding` → token,
  `mlp reconstruction error` → error, `logit` → logit, any `... transcoder` → latent. Error ids
  come in two styles (circuit-tracer's `0_<layer>_<pos>`, which can be a layer-0 latent's id
  too, and `<layer>_-1_<pos>`); an error's layer is its `layer` field and its id always
  `<layer>_-1_<pos>` (position = `ctx_idx`), the one scheme of the store and of graphs computed
  here, so that an imported graph and a computed one have the same ids. The file's own ids are
  kept in source["node_ids"] ({id: file id}, only those that differ) and written back. A file
  in which an error's id is also a latent's cannot be read: its links are ambiguous.
- position = `ctx_idx`. `layer` is an int for latents, errors and logits; None for tokens ("E").
- latent: feature_index = the middle of the node id (the index within the layer); Node.file_feature
  keeps the file's `feature` number (Neuronpedia's Cantor pairing of layer and index for gemma;
  Anthropic's own number for Haiku), Node.js_id keeps `jsNodeId`. Every kind keeps both.
- token: token_id = the node id's middle (`E_651_1` → 651), text = prompt_tokens[ctx_idx].
- logit: token_id = `feature`, probability = `token_prob`, is_target = `is_target_logit`,
  text from the clerp: `Output " Austin" (p=0.332)` → " Austin", `output: "Austin" (p=0.984)` →
  "Austin".
  A logit clerp in neither style leaves the text unknown (None): the clerp is kept as the
  label, and captions fall back to it (never "null").
- label = `clerp` ('' → None; written back as ''). null influence / activation → None.
- Graph id = metadata.slug without surrounding whitespace, else the file's stem. model =
  metadata.scan, except Anthropic's scans, which name a run (`jackl-circuits-...` →
  `claude-3.5-haiku`). transcoder_set = info.transcoder_set, else (no info, or an info without
  one) the scan (Neuronpedia: the scan names the model and its coders). `info` may be an object
  or a Python-repr string (read with ast.literal_eval, never eval). created =
  info.create_time_ms as ISO 8601 UTC. generation / pruning / scores =
  metadata.generation_settings / pruning_settings / scores, every key kept (null: none given).

Lenient where a user would be, strict where a guess would store something wrong:
- Kept, not fatal: unknown keys anywhere (settings and score keys such as `sparsity` or
  `max_nodes`, node fields, metadata and qParams entries), written back as they were.
- Refused, one line naming the field: a value of the wrong type (`"weight": true`,
  `"is_target_logit": "false"`, a numeric clerp, a string threshold or score; JSON `true` is
  never taken for 1), an integer beyond 64 bits, a token whose ctx_idx is outside the prompt,
  bytes that are not UTF-8, and an `info` that is present but unreadable (it names the
  transcoder set: guessing another would give the graph Features its siblings do not share).
- Ids (graph.check_text / check_graph_id): a slug loses surrounding whitespace; a graph id,
  node id or supernode name with a control character (terminal escapes, NUL, line breaks,
  invisible format characters) is refused, as is a graph id with an empty, `.` or `..` segment
  (`a/b/../c`) or longer than 256 characters, and a node id with surrounding whitespace.
- Two supernodes with one name are refused (names are unique within a graph; merging them
  silently would change what the file's author drew).
- Supernodes: qParams.supernodes `[name, member, ...]`. A member is a node id, or else a
  jsNodeId (Haiku), which names a feature rather than one place (gemma's jsNodeIds repeat at
  each position), so it resolves to every node that carries it.

What has no column goes to GraphMeta.source, so the file is written back as it was:
`metadata` (scan, info, schema_version, transcoder_list, node_threshold, ... verbatim),
`qParams` (pinnedIds, clickedId, sg_pos, linkType, ...), and only where a file needs them:
`node_fields` (a node key set other than circuit-tracer's), `latent_feature_type` (other than
"cross layer transcoder"), `supernode_members` ("jsNodeId": members are written as jsNodeIds,
folding nodes that share one back into one member) and `node_extras` ({node id: {key: value}}
for per-node values no column gives back: Haiku's reverse_ctx_idx is the only one in the
shared graphs). Extra keys on links are not kept.

A graph with no such source (from compute) is written the way circuit-tracer's
create_graph_files writes one: its metadata (`scan`, here the model as in Neuronpedia's files,
`transcoder_list` [], `prompt_tokens`, `prompt`, `node_threshold`, `schema_version` 1), derived
`feature` (Cantor pairing of layer and index), `jsNodeId`, logit clerps (`Output "<text>"
(p=0.500)`), node `influence` (cumulative; null for logits), fresh qParams; latents as "cross
layer transcoder" unless source["latent_feature_type"] names another (a producer of per-layer
transcoder graphs sets "per layer transcoder" there); a logit without a layer one above the top
layer. Error ids are `<layer>_-1_<pos>` (not circuit-tracer's `0_<layer>_<pos>`, which can
collide). Like Neuronpedia's files it adds `info.transcoder_set` and `create_time_ms` and the
generation and pruning settings; GraphMeta.scores travel as metadata.scores (not Neuronpedia's,
harmless to it).
"""

from circuitstore.formats.errors import FormatError, NotAGraphFile
from circuitstore.formats.reader import parse_graph, read_graph
from circuitstore.formats.writer import dump_graph, dumps_graph, write_graph

__all__ = ["FormatError", "NotAGraphFile", "dump_graph", "dumps_graph", "parse_graph", "read_graph", "write_graph"]
