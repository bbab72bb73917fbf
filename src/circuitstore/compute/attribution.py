"""Attribution graphs: the direct, linear effect of every source on every target in one
prompt's local replacement model (see replacement.py).

Targets are read along reading vectors: a logit along its vector at the last position
(targets.py: a likely token's demeaned unembedding column, or a chosen token, logit difference
or direction), a latent along its encoder row at its position (its pre-activation). Each
batch of targets is pushed back through the frozen model at once, one target per copy of the
prompt; the gradient where a source writes, dotted with what it writes, is the edge weight (a
cross-layer latent writes at several layers: its edge is the sum over them).
Logits come first, then latents in order of their estimated influence on the logits (from the
edges computed so far, re-estimated every `update_interval` batches), up to
`max_feature_nodes`. Each batch's edges are kept as sparse rows (edge_rows.py). With the
default settings the graph is the one circuit-tracer computes (its node order, edges, and the
latents a cap selects).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp
import torch
from transformer_lens import HookedTransformer

from circuitstore import identity
from circuitstore.compute.edge_rows import EdgeRows
from circuitstore.compute.errors import PromptError
from circuitstore.compute.grouped import PositionGroups
from circuitstore.compute.models import loaded_from
from circuitstore.compute.replacement import Replacement
from circuitstore.compute.targets import logit_targets, token_text
from circuitstore.compute.transcoder_set import TranscoderSet
from circuitstore.graph import AttributionGraph, GraphMeta, Node
from circuitstore.pruning import prune
from circuitstore.settings import MODEL_SPEC, TRANSCODERS_SPEC, AttributionSettings

Prompt = str | Sequence[int] | torch.Tensor
Progress = Callable[[int, int], None]


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
    """Attribute and prune with the settings' thresholds: the graph that gets stored."""
    return prune(
        attribute(model, transcoders, prompt, settings, progress), settings.node_threshold, settings.edge_threshold
    )


def attribute(
    model: HookedTransformer,
    transcoders: TranscoderSet,
    prompt: Prompt,
    settings: AttributionSettings = AttributionSettings(),
    progress: Progress | None = None,
) -> AttributionGraph:
    """The unpruned attribution graph; `progress(done, total)` is called after each batch of targets."""
    text, ids = tokenize(model, prompt)
    rep = Replacement(model, transcoders, torch.tensor(ids, dtype=torch.long), settings)
    return _Attribution(rep, settings, progress).graph(_graph_id(model, transcoders, text, ids, settings), text, ids)


class _Attribution:
    """Node indices during computation: latents (all active, by layer, position, feature),
    then errors (by layer, position), tokens, logits. Sources are everything before the logits."""

    def __init__(self, rep: Replacement, settings: AttributionSettings, progress: Progress | None) -> None:
        self.rep, self.settings, self.progress = rep, settings, progress
        model, n_pos = rep.model, rep.n_pos
        self.n_layers = len(rep.layers)
        # Edges are summed in float64 for a float64 model, else in float32.
        self.dtype = torch.float64 if model.cfg.dtype == torch.float64 else torch.float32

        self.logits = logit_targets(model, rep.next_logits, settings, self.dtype)
        n_logits = len(self.logits.weights)

        self.lat_layer = torch.cat([torch.full_like(s.positions, i) for i, s in enumerate(rep.layers)]).tolist()
        self.lat_pos = torch.cat([s.positions for s in rep.layers]).tolist()
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
        self.levels = np.array(self.lat_layer + [self.n_layers] * (self.n_nodes - self.n_latents), dtype=np.int64)
        self.rows = EdgeRows(self.n_nodes, self.n_sources)

    def graph(self, graph_id: str, text: str, ids: list[int]) -> AttributionGraph:
        s = self.settings
        budget = self.n_latents if s.max_feature_nodes is None else min(self.n_latents, s.max_feature_nodes)
        logit_nodes = list(range(self.n_sources, self.n_nodes))
        total = len(logit_nodes) + budget
        batch = max(1, min(s.batch_size, total))
        frozen = self.rep.frozen(batch)
        done = 0
        for start in range(0, len(logit_nodes), batch):
            done += self._edges_into(frozen, logit_nodes[start : start + batch])
            self._report(done, total)
        visited = np.zeros(self.n_latents, dtype=bool)
        while visited.sum() < budget:
            queue = self._next_latents(visited, min(s.update_interval * batch, budget - int(visited.sum())), budget)
            for start in range(0, len(queue), batch):
                pick = queue[start : start + batch]
                visited[pick] = True
                done += self._edges_into(frozen, pick.tolist())
                self._report(done, total)
        return self._assemble(graph_id, text, ids, visited)

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def _next_latents(self, visited: np.ndarray, count: int, budget: int) -> np.ndarray:
        """The `count` unvisited latents most influential on the logits, by the edges so far."""
        unvisited = np.flatnonzero(~visited)
        if budget == self.n_latents:  # every latent is visited: order does not matter
            return unvisited
        weights = np.zeros(self.n_nodes)
        weights[self.n_sources :] = self.logits.weights
        score = self.rows.influence(weights)[unvisited]
        return unvisited[np.argsort(-score, kind="stable")[:count]]

    def _edges_into(self, frozen, targets: list[int]) -> int:
        """Edges into `targets` (node indices) from every source, stored sparse."""
        rep = self.rep
        shape = frozen.embed_probe.shape
        final_grad = None
        read_grads: dict[int, torch.Tensor] = {}
        for b, t in enumerate(targets):
            if t >= self.n_sources:
                if final_grad is None:
                    final_grad = torch.zeros(shape, dtype=self.dtype, device=rep.tokens.device)
                final_grad[b, -1] = self.logits.reads[t - self.n_sources]
            else:
                layer = self.lat_layer[t]
                if layer not in read_grads:
                    read_grads[layer] = torch.zeros(shape, dtype=self.dtype, device=rep.tokens.device)
                read_grads[layer][b, self.lat_pos[t]] = rep.layers[layer].encoders[t - self.lat_offset[layer]]
        if final_grad is not None:
            final_grad = final_grad.to(frozen.final.dtype)
        with torch.no_grad():
            g_embed, g_mlp = frozen.backward(final_grad, read_grads)
            n, n_pos = len(targets), rep.n_pos
            dt = self.dtype
            block = torch.zeros(n, self.n_sources, dtype=dt, device=rep.tokens.device)
            block[:, self.tok_offset :] = (g_embed[:n].to(dt) * rep.embeddings.to(dt)).sum(-1)
            for out, src in enumerate(rep.layers):
                g = g_mlp[out][:n].to(dt)
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
            rows = sp.csr_matrix(
                (block[nz].cpu().numpy(), nz[1].cpu().numpy().astype(np.int32), starts), shape=(n, self.n_sources)
            )
            at = np.asarray(targets, dtype=np.int64)
            self.rows.add(at, self.levels[at], rows)
        return n

    def _assemble(self, graph_id: str, text: str, ids: list[int], visited: np.ndarray) -> AttributionGraph:
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
        targets, sources, values = self.rows.edges()
        targets, sources = remap[targets.astype(np.int64)], remap[sources.astype(np.int64)]
        keep = sources >= 0
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
        return AttributionGraph(meta, nodes, sources[keep], targets[keep], values[keep])
