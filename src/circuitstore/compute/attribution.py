"""Attribution graphs: the direct, linear effect of every source on every target in one
prompt's local replacement model (see replacement.py).

Targets are read along reading vectors: a logit along its vector at the last position
(targets.py: a likely token's demeaned unembedding column, or a chosen token, logit difference
or direction), a latent along its encoder row at its position (its pre-activation). Each
batch of targets is pushed back through the frozen model at once, in one batched backward
pass, one target per slot as if through copies of the prompt (`compute_graphs`: of one of
several prompts of one length); the gradient where a
source writes, dotted with what it writes, is the edge weight (a cross-layer latent writes at
several layers: its edge is the sum over them).
Logits come first, then latents in order of their estimated influence on the logits (from the
edges computed so far, re-estimated every `update_interval` batches), up to
`max_feature_nodes`. Each batch's edges are kept as sparse rows (edge_rows.py). With the
default settings the graph is the one circuit-tracer computes (its node order, edges, and the
latents a cap selects).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

import numpy as np
import scipy.sparse as sp
import torch
from transformer_lens import HookedTransformer

from circuitstore import identity
from circuitstore.compute.edge_rows import EdgeRows
from circuitstore.compute.errors import PromptError
from circuitstore.compute.grouped import PositionGroups
from circuitstore.compute.models import loaded_from
from circuitstore.compute.replacement import Frozen, Replacement
from circuitstore.compute.targets import logit_targets, token_text
from circuitstore.compute.transcoder_set import TranscoderSet
from circuitstore.graph import AttributionGraph, GraphMeta, Node
from circuitstore.pruning import EdgeBlocks, prune_blocks
from circuitstore.settings import MODEL_SPEC, TRANSCODERS_SPEC, AttributionSettings

Prompt = str | Sequence[int] | torch.Tensor
Progress = Callable[[int, int], None]
GroupProgress = Callable[[list[int], int, int], None]

# compute_graphs: how many prompts ahead it looks for prompts of the same length, and the bytes
# the prompts computed together may hold.
WINDOW = 64
BATCH_MEMORY = 2 * 2**30


def tokenize(model: HookedTransformer, prompt: Prompt) -> tuple[str, list[int]]:
    """The prompt's text and token ids.

    Text is tokenised with the model's tokenizer (without special tokens) or, for a model
    without one, read as whitespace-separated token ids. As circuit-tracer does, a special token
    goes first: when the ids do not start with one of the tokenizer's special tokens, its BOS
    (else its pad, EOS or first special token) is prepended; ids for a model without a tokenizer
    are taken as given. The text is the prompt as given, or the ids decoded (special tokens
    included, as circuit-tracer writes the prompt)."""
    tokenizer = model.tokenizer
    if isinstance(prompt, str):
        if not prompt.strip():
            raise PromptError("empty prompt")
        if tokenizer is not None:
            return prompt, tokenize(model, tokenizer(prompt, add_special_tokens=False).input_ids)[1]
        if all(part.isdigit() for part in prompt.split()):
            # A model without a tokenizer (a tiny local one) reads text as token ids: "1 5 9".
            return tokenize(model, [int(part) for part in prompt.split()])
        raise PromptError("the model has no tokenizer: give token ids, e.g. '1 5 9'")
    ids = [int(t) for t in (prompt.reshape(-1).tolist() if isinstance(prompt, torch.Tensor) else prompt)]
    if not ids:
        raise PromptError("empty prompt")
    bad = [t for t in ids if not 0 <= t < model.cfg.d_vocab]
    if bad:
        raise PromptError(f"token ids {bad[:5]} outside the vocabulary of {model.cfg.d_vocab}")
    if tokenizer is not None:
        special = tokenizer.all_special_ids
        first = [tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id, *special]
        first = [t for t in first if t is not None]
        if first and ids[0] not in special:
            ids = [first[0], *ids]
    if len(ids) > model.cfg.n_ctx:
        raise PromptError(f"prompt has {len(ids)} tokens, more than the model's context of {model.cfg.n_ctx}")
    text = tokenizer.decode(ids) if tokenizer is not None else " ".join(map(str, ids))
    return text, ids


def token_nodes(ids: Sequence[int], texts: Sequence[str]) -> list[Node]:
    """One token node per prompt position."""
    return [Node(identity.token_id(t, p), "token", p, token_id=t, text=texts[p]) for p, t in enumerate(ids)]


def graph_id(
    model: HookedTransformer, transcoders: TranscoderSet, prompt: Prompt, settings: AttributionSettings
) -> str:
    """The id `compute_graph` will give this prompt's graph (tokenises, computes nothing)."""
    text, ids = tokenize(model, prompt)
    return _graph_id(model, transcoders, text, ids, settings)


def _graph_id(model, transcoders, text, ids, settings) -> str:
    key = settings.identity()
    key["dtype"] = str(model.cfg.dtype).removeprefix("torch.")
    return identity.graph_id(text, ids, model.cfg.model_name, transcoders.name, key)


def compute_graph(
    model: HookedTransformer,
    transcoders: TranscoderSet,
    prompt: Prompt,
    settings: AttributionSettings = AttributionSettings(),
    progress: Progress | None = None,
) -> AttributionGraph:
    """Attribute and prune with the settings' thresholds: the graph that gets stored. Pruned
    from the edges as attribution keeps them, so the unpruned graph is never built."""
    run = _run(model, transcoders, *tokenize(model, prompt), settings)
    _attribute_together([run], settings.batch_size, progress)
    return run.pruned()


def attribute(
    model: HookedTransformer,
    transcoders: TranscoderSet,
    prompt: Prompt,
    settings: AttributionSettings = AttributionSettings(),
    progress: Progress | None = None,
) -> AttributionGraph:
    """The unpruned attribution graph; `progress(done, total)` is called after each batch of targets."""
    run = _run(model, transcoders, *tokenize(model, prompt), settings)
    _attribute_together([run], settings.batch_size, progress)
    return run.graph()


def compute_graphs(
    model: HookedTransformer,
    transcoders: TranscoderSet,
    prompts: Iterable[Prompt],
    settings: AttributionSettings = AttributionSettings(),
    *,
    prompts_per_batch: int | None = None,
    memory: int = BATCH_MEMORY,
    progress: GroupProgress | None = None,
) -> Iterator[AttributionGraph]:
    """`compute_graph` of each prompt, yielded in the prompts' order, several prompts at a time.

    Prompts of the same length (among the next WINDOW) share the frozen forward pass and the
    backward batches: a batch's `settings.batch_size` targets come from several prompts, each on
    its own copies, in proportion to its targets, and each prompt keeps its own schedule (stages,
    rankings, chunks of edge rows). So each graph is the one `compute_graph` gives it: the same
    nodes and values (each prompt's sources come from its own forward pass), the same edges,
    their weights to rounding (other shapes of the same products). Prompts of different
    lengths are not padded to share: a copy costs about in proportion to its length, more
    than sharing saves (bench/attribution.py, the many-prompts row).
    `prompts_per_batch` caps how many prompts share (1: one at a time, as `compute_graph`; what
    `ingest` does by default, as sharing measured slower on a CPU in the many-prompts row); the
    sources and edge rows of the prompts in flight are kept within `memory` bytes, by a bound on
    their edges (a weight and a source index for every source of every target).
    `progress(prompts, done, total)` is called after each batch: the prompts (indices) computed
    together have done `done` of their `total` targets. A prompt that cannot be tokenised raises
    its PromptError before the prompts of its window are computed.
    """
    most = settings.batch_size if prompts_per_batch is None else max(1, min(prompts_per_batch, settings.batch_size))
    numbered = enumerate(prompts)
    while window := list(islice(numbered, WINDOW)):
        tokenized = [(i, *tokenize(model, prompt)) for i, prompt in window]
        done: dict[int, AttributionGraph] = {}
        for group in _same_length(tokenized, most):
            while group:
                runs = _in_memory(model, transcoders, group, settings, memory)
                indices = [i for i, _, _ in group[: len(runs)]]
                group = group[len(runs) :]
                _attribute_together(
                    runs,
                    settings.batch_size,
                    None if progress is None else lambda d, t, indices=indices: progress(indices, d, t),
                )
                for i in indices:
                    done[i] = runs.pop(0).pruned()
                while window and window[0][0] in done:
                    yield done.pop(window.pop(0)[0])


def _same_length(tokenized: list[tuple[int, str, list[int]]], most: int) -> list[list[tuple[int, str, list[int]]]]:
    """Groups of at most `most` prompts of one length, in the order of their first prompt."""
    by_length: dict[int, list] = {}
    for item in tokenized:
        by_length.setdefault(len(item[2]), []).append(item)
    groups = [same[k : k + most] for same in by_length.values() for k in range(0, len(same), most)]
    return sorted(groups, key=lambda g: g[0][0])


def _in_memory(model, transcoders, group, settings, memory: int) -> list[_Attribution]:
    """Runs of the group's first prompts while their bounds together stay within `memory` (the
    first prompt whatever its bound)."""
    runs, used = [], 0
    for _, text, ids in group:
        run = _run(model, transcoders, text, ids, settings)
        if runs and used + run.bound > memory:
            break  # the next group starts with it (its sources are found again)
        runs.append(run)
        used += run.bound
    return runs


def _run(model, transcoders, text: str, ids: list[int], settings: AttributionSettings) -> _Attribution:
    rep = Replacement(model, transcoders, torch.tensor(ids, dtype=torch.long), settings)
    return _Attribution(rep, settings, _graph_id(model, transcoders, text, ids, settings), text, ids)


def _shares(rows: int, totals: list[int]) -> list[int]:
    """`rows` copies split among prompts in proportion to their targets (at least one each, at
    most a prompt's targets), so that they finish together."""
    exact = [rows * t / sum(totals) for t in totals]
    shares = [max(1, min(t, int(e))) for e, t in zip(exact, totals)]
    by_remainder = sorted(range(len(totals)), key=lambda k: shares[k] - exact[k])
    k = 0
    while sum(shares) < rows:
        p = by_remainder[k % len(totals)]
        if shares[p] < totals[p]:
            shares[p] += 1
        k += 1
    while sum(shares) > rows:  # the minimum of one pushed it over
        shares[max(range(len(totals)), key=lambda p: shares[p])] -= 1
    return shares


def _attribute_together(runs: list[_Attribution], batch_size: int, progress: Progress | None) -> None:
    """Push every run's targets back, `batch_size` per backward pass, each run on its own copies
    of its prompt in one frozen model, until every run is done."""
    totals = [run.total for run in runs]
    copies = _shares(max(1, min(batch_size, sum(totals))), totals)
    frozen = Frozen([run.rep for run in runs], copies)
    done, total = 0, sum(totals)
    while not all(run.finished for run in runs):
        taken = [run.take(k) for run, k in zip(runs, copies)]
        shape = (max(map(len, taken)), *frozen.shape[1:])
        final_grad, read_grads = None, {}
        for row, (run, targets) in enumerate(zip(runs, taken)):
            final_grad = run.reading_vectors(shape, row, targets, final_grad, read_grads)
        extent = max(run.extent(targets) for run, targets in zip(runs, taken))
        with torch.no_grad():
            g_embed, g_mlp = frozen.backward(final_grad, read_grads, extent)
            for row, (run, targets) in enumerate(zip(runs, taken)):
                if targets:
                    n = len(targets)
                    run.rows_in(run.edges(g_embed[:n, row], [None if g is None else g[:n, row] for g in g_mlp]))
        done += sum(map(len, taken))
        if progress is not None:
            progress(done, total)


@dataclass
class _Chunk:
    """Targets whose rows go into the edge rows together: one batch, when a prompt is alone."""

    targets: np.ndarray
    parts: list[sp.csr_matrix] = field(default_factory=list)
    filled: int = 0


class _Attribution:
    """One prompt's attribution. Node indices during computation: latents (all active, by layer,
    position, feature), then errors (by layer, position), tokens, logits. Sources are everything
    before the logits.

    Targets are pushed back in stages: the logits, then latents in order of their estimated
    influence, `update_interval` batches at a time, ranked again after each stage from the rows
    found so far; a stage's targets are pushed back by layer, then position (`take`), and go
    into the edge rows in chunks of `batch`. These are the prompt's own, whichever backward
    passes (shared with other prompts) compute its targets.
    """

    def __init__(self, rep: Replacement, settings: AttributionSettings, graph_id: str, text: str, ids: list[int]):
        self.rep, self.settings = rep, settings
        self.graph_id, self.text, self.ids = graph_id, text, ids
        model, n_pos = rep.model, rep.n_pos
        self.n_layers = len(rep.layers)
        # Edges are summed in float64 for a float64 model, else in float32.
        self.dtype = torch.float64 if model.cfg.dtype == torch.float64 else torch.float32

        self.logits = logit_targets(model, rep.next_logits, settings, self.dtype)
        n_logits = len(self.logits.weights)

        layer_of = np.repeat(np.arange(len(rep.layers)), [len(s.positions) for s in rep.layers])
        position_of = torch.cat([s.positions for s in rep.layers]).numpy(force=True)
        self.lat_layer, self.lat_pos = layer_of.tolist(), position_of.tolist()
        self.lat_feat = torch.cat([s.features for s in rep.layers]).tolist()
        self.lat_act = torch.cat([s.activations for s in rep.layers]).tolist()
        self.n_latents = len(self.lat_pos)
        self.lat_offset = np.cumsum([0] + [len(s.positions) for s in rep.layers]).tolist()
        self.err_offset = self.n_latents
        self.tok_offset = self.err_offset + self.n_layers * n_pos
        self.n_sources = self.tok_offset + n_pos
        self.n_nodes = self.n_sources + n_logits
        self.groups = [PositionGroups(s.positions) for s in rep.layers]
        # A target's level orders influence: a latent's layer, the logits above every layer.
        self.levels = np.append(layer_of, np.full(self.n_nodes - self.n_latents, self.n_layers)).astype(np.int64)
        # Where a target is read: a latent at its position, a logit at the last.
        self.read_at = np.append(position_of, np.full(self.n_nodes - self.n_latents, n_pos - 1))
        self.rows = EdgeRows(self.n_nodes, self.n_sources)

        m = settings.max_feature_nodes
        self.budget = self.n_latents if m is None else min(self.n_latents, m)
        self.total = n_logits + self.budget
        self.batch = max(1, min(settings.batch_size, self.total))
        self.visited = np.zeros(self.n_latents, dtype=bool)
        self._stage(np.arange(self.n_sources, self.n_nodes))
        # What the prompt holds while in flight: its sources, and its edge rows at most (a
        # weight and a source index per source and target).
        edge_bytes = torch.finfo(self.dtype).bits // 8 + 4
        held = [(s.constant, s.errors, *s.writes.values()) for s in rep.layers]
        sources = rep.embeddings.nbytes + sum(t.nbytes for layer in held for t in layer)
        self.bound = sources + self.total * self.n_sources * edge_bytes

    def _stage(self, targets: np.ndarray) -> None:
        # By layer, then position: a backward pass starts at its highest target's layer and
        # goes through as much of the prompt as its last target reads (see `take`), so batches
        # of one layer and nearby positions cost less than batches in the order of the ranking
        # (the stage's rows, and so the next ranking, are the same in any order).
        targets = targets[np.lexsort((self.read_at[targets], self.levels[targets]))]
        self.queue = targets.tolist()  # not yet pushed back
        self.chunks = deque(_Chunk(targets[k : k + self.batch]) for k in range(0, len(targets), self.batch))

    @property
    def finished(self) -> bool:
        return not self.chunks

    def take(self, count: int) -> list[int]:
        """Up to `count` targets of the current stage to push back next, of one level: a batch
        costs about in proportion to its size, its highest level and how far into the prompt
        its targets read (`extent`), so a batch of a level's last targets and the next level's
        first would cost about as much as the two apart."""
        taken = self.queue[:count]
        if taken:
            other = np.flatnonzero(self.levels[taken] != self.levels[taken[0]])
            taken = taken[: other[0]] if other.size else taken
        self.queue = self.queue[len(taken) :]
        return taken

    def extent(self, targets: list[int]) -> int:
        """How many of the prompt's first positions the targets read."""
        return int(self.read_at[targets].max()) + 1 if targets else 0

    def rows_in(self, rows: sp.csr_matrix) -> None:
        """The rows of the targets last taken, in order; a finished stage starts the next."""
        at = 0
        while at < rows.shape[0]:
            chunk = self.chunks[0]
            need = len(chunk.targets) - chunk.filled
            part = rows if at == 0 and rows.shape[0] <= need else rows[at : at + need]
            chunk.parts.append(part)
            chunk.filled += part.shape[0]
            at += part.shape[0]
            if chunk.filled == len(chunk.targets):
                block = chunk.parts[0] if len(chunk.parts) == 1 else sp.vstack(chunk.parts, format="csr")
                self.rows.add(chunk.targets, self.levels[chunk.targets], block)
                self.chunks.popleft()
        if not self.chunks and self.visited.sum() < self.budget:
            left = self.budget - int(self.visited.sum())
            queue = self._next_latents(self.visited, min(self.settings.update_interval * self.batch, left), self.budget)
            self.visited[queue] = True
            self._stage(queue)

    def graph(self) -> AttributionGraph:
        """The unpruned graph."""
        meta, nodes, blocks = self._assemble()
        targets, sources, weights = (np.concatenate(column) for column in zip(*blocks()))
        return AttributionGraph(meta, nodes, sources, targets, weights)

    def pruned(self) -> AttributionGraph:
        """The graph pruned with the settings' thresholds, straight from the edge rows."""
        s = self.settings
        return prune_blocks(*self._assemble(), s.node_threshold, s.edge_threshold)

    def _next_latents(self, visited: np.ndarray, count: int, budget: int) -> np.ndarray:
        """The `count` unvisited latents most influential on the logits, by the edges so far."""
        unvisited = np.flatnonzero(~visited)
        if budget == self.n_latents:  # every latent is visited: order does not matter
            return unvisited
        weights = np.zeros(self.n_nodes)
        weights[self.n_sources :] = self.logits.weights
        score = self.rows.influence(weights)[unvisited]
        return unvisited[np.argsort(-score, kind="stable")[:count]]

    def reading_vectors(
        self,
        shape: tuple[int, ...],
        row: int,
        targets: list[int],
        final_grad: torch.Tensor | None,
        read_grads: dict[int, torch.Tensor],
    ) -> torch.Tensor | None:
        """Set each target's reading vector in the gradients to push back (of `shape`: [slots,
        prompts, pos, d_model], the b-th target in slot b of the prompt's `row`): a logit's on
        the final residual at the prompt's last position, a latent's on its layer's read at its
        position; returns `final_grad` (made when first needed)."""
        rep, device = self.rep, self.rep.tokens.device

        def index(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).to(device)

        targets = np.asarray(targets, dtype=np.int64)
        slots = np.arange(len(targets))
        logits = targets >= self.n_sources
        if logits.any():
            if final_grad is None:
                final_grad = torch.zeros(shape, dtype=self.dtype, device=device)
            reads = self.logits.reads[index(targets[logits] - self.n_sources)]
            final_grad[index(slots[logits]), row, rep.n_pos - 1] = reads.to(self.dtype)
        latents, slots = targets[~logits], slots[~logits]
        layers = self.levels[latents]  # a latent's level is its layer
        for layer in np.unique(layers).tolist():
            at = layers == layer
            if layer not in read_grads:
                read_grads[layer] = torch.zeros(shape, dtype=self.dtype, device=device)
            features = rep.layers[layer].features[index(latents[at] - self.lat_offset[layer])]
            rows = rep.transcoders.encoders(layer, features).to(self.dtype)
            read_grads[layer][index(slots[at]), row, index(self.read_at[latents[at]])] = rows
        return final_grad

    def edges(self, g_embed: torch.Tensor, g_mlp: list[torch.Tensor | None]) -> sp.csr_matrix:
        """The rows of edges into targets from every source, from the gradients their reading
        vectors left at the probes ([targets, pos, d]) on this prompt's copies."""
        rep, n, n_pos, dt = self.rep, g_embed.shape[0], self.rep.n_pos, self.dtype
        block = torch.zeros(n, self.n_sources, dtype=dt, device=rep.tokens.device)
        block[:, self.tok_offset :] = (g_embed.to(dt) * rep.embeddings.to(dt)).sum(-1)
        for out, src in enumerate(rep.layers):
            if g_mlp[out] is None:
                continue  # nothing read lies above this output: its sources' edges are zero
            g = g_mlp[out].to(dt)
            at = self.err_offset + out * n_pos
            block[:, at : at + n_pos] = (g * src.errors.to(dt)).sum(-1)
            # Every latent writing at this output: of this layer and, for a cross-layer
            # transcoder, of earlier ones.
            for layer in range(out + 1):
                writes = rep.layers[layer].writes.get(out)
                if writes is None:
                    continue
                base = self.lat_offset[layer]
                block[:, base : base + len(writes)] += self.groups[layer].edges(g, writes)
        nz = block.nonzero(as_tuple=True)
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(torch.bincount(nz[0], minlength=n).cpu().numpy(), out=starts[1:])
        return sp.csr_matrix(
            (block[nz].cpu().numpy(), nz[1].cpu().numpy().astype(np.int32), starts), shape=(n, self.n_sources)
        )

    def _assemble(self) -> tuple[GraphMeta, list[Node], EdgeBlocks]:
        """The graph's meta, its nodes and its edges, still as the edge rows."""
        graph_id, text, ids, visited = self.graph_id, self.text, self.ids, self.visited
        model, n_pos, L = self.rep.model, self.rep.n_pos, self.n_layers
        texts = [token_text(model, t) for t in ids]
        nodes = [
            Node(
                identity.latent_id(self.lat_layer[k], self.lat_feat[k], self.lat_pos[k]),
                "latent",
                self.lat_pos[k],
                layer=self.lat_layer[k],
                feature_index=self.lat_feat[k],
                activation=self.lat_act[k],
            )
            for k in np.flatnonzero(visited)
        ]
        nodes += [
            Node(identity.error_id(layer, p), "error", p, layer=layer) for layer in range(L) for p in range(n_pos)
        ]
        nodes += token_nodes(ids, texts)
        nodes += self.logits.nodes(L, n_pos)
        # Unvisited latents leave the graph, and with them their edges.
        remap = np.full(self.n_nodes, -1, dtype=np.int64)
        remap[np.flatnonzero(visited)] = np.arange(int(visited.sum()))
        remap[self.n_latents :] = np.arange(self.n_nodes - self.n_latents) + int(visited.sum())
        specs = {MODEL_SPEC: loaded_from(model), TRANSCODERS_SPEC: self.rep.transcoders.spec}
        meta = GraphMeta(
            id=graph_id,
            prompt=text,
            prompt_tokens=tuple(texts),
            model=model.cfg.model_name,
            transcoder_set=self.rep.transcoders.name,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            generation={
                **self.settings.generation(),
                **self.rep.transcoders.description(),
                "dtype": str(model.cfg.dtype).removeprefix("torch."),
                "n_active_latents": self.n_latents,
                **{key: spec for key, spec in specs.items() if spec is not None},
            },
        )
        return meta, nodes, lambda: self.rows.blocks(remap)
