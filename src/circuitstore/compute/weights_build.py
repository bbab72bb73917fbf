"""Computing and storing a transcoder set's weights-only views, layer by layer: what
`circuitstore weights build` runs.

Layers go in order; each is computed whole (compute/weights.py) and stored whole
(store/weights.py), so an interrupted build resumes at the first layer without its marker, and
re-running a finished one changes nothing. A later layer's pullback needs every earlier layer's
top activations on single tokens: from this run, from the store (an earlier run's stored top
de-embeddings), or computed without being stored when the earlier layer is not being built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import torch
from transformer_lens import HookedTransformer

from circuitstore.captions import auto_label, feature_caption
from circuitstore.compute.errors import ComputeError
from circuitstore.compute.targets import token_text
from circuitstore.compute.transcoders import TranscoderSet
from circuitstore.compute.weights import BLOCK, Activations, LayerWeights, Ranked, WeightsComputer, input_kind
from circuitstore.identity import feature_id, vocab_id
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.weights import WeightsLayer, store_layer, stored_layers, stored_top_tokens

# (layer, stage, done, total): stage is a computing step or "storing".
Progress = Callable[[int, str, int, int], None]


@dataclass(frozen=True)
class LayerOutcome:
    layer: int
    status: str  # stored | skipped
    relationships: int = 0


def build_weights(
    driver: neo4j.Driver,
    model: HookedTransformer,
    transcoders: TranscoderSet,
    progress: Progress | None = None,
    on_done: Callable[[LayerOutcome], None] = lambda outcome: None,
    **options: Any,
) -> list[LayerOutcome]:
    """Compute and store the weights of a set (`options`: those of WeightsBuild): check, then run."""
    return WeightsBuild(driver, model, transcoders, **options).run(progress, on_done)


class WeightsBuild:
    """One build of `layers` (default: all), checked when made (layers outside the set, a layer
    stored with another top-k or model, unless `replace`), run later: each layer stored whole
    with the same settings is skipped, `replace` rebuilds them."""

    def __init__(
        self,
        driver: neo4j.Driver,
        model: HookedTransformer,
        transcoders: TranscoderSet,
        *,
        layers: Sequence[int] | None = None,
        top_k: int = 10,
        replace: bool = False,
        block: int = BLOCK,
    ) -> None:
        n_layers, set_name, model_name = transcoders.n_layers, transcoders.name, model.cfg.model_name
        self.layers = sorted(set(range(n_layers) if layers is None else layers))
        bad = [layer for layer in self.layers if not 0 <= layer < n_layers]
        if bad:
            raise ComputeError(f"layer(s) {bad} outside the {n_layers} layers of {set_name!r}")
        self.stored = stored_layers(driver, set_name)
        for layer in self.layers:
            was = self.stored.get(layer)
            if was and not replace and (was["top_k"] != top_k or was["model"] != model_name):
                raise ComputeError(
                    f"layer {layer} of {set_name!r} is stored with top-k {was['top_k']} for model {was['model']!r}; "
                    "pass --replace to rebuild it"
                )
        self.driver, self.model, self.replace = driver, model, replace
        self.computer = WeightsComputer(model, transcoders, top_k, block)

    def run(
        self, progress: Progress | None = None, on_done: Callable[[LayerOutcome], None] = lambda outcome: None
    ) -> list[LayerOutcome]:
        computer, stored = self.computer, self.stored
        rows = _Rows(self.model, computer)
        acts: dict[int, Activations] = {}
        outcomes = []
        for layer in self.layers:
            if layer in stored and not self.replace:
                outcome = LayerOutcome(layer, "skipped")
            else:

                def step(stage: str, done: int, total: int, layer: int = layer) -> None:
                    if progress:
                        progress(layer, stage, done, total)

                for earlier in range(layer):
                    if earlier not in acts:
                        acts[earlier] = _activations(self.driver, computer, earlier, stored, step)
                weights = computer.layer(layer, acts, step)
                acts[layer] = computer.activations(layer, weights.de_embedding[weights.input_kind])
                record = rows.layer(weights)
                built = datetime.now(UTC).isoformat(timespec="seconds")
                store_layer(self.driver, record, built, progress=lambda done, total: step("storing", done, total))
                stored[layer] = {"top_k": computer.k, "model": self.model.cfg.model_name}
                outcome = LayerOutcome(layer, "stored", record.n_relationships())
            outcomes.append(outcome)
            on_done(outcome)
        return outcomes


def _activations(
    driver: neo4j.Driver, computer: WeightsComputer, layer: int, stored: dict[int, dict], step
) -> Activations:
    """An earlier layer's top activations: read back from its stored de-embeddings, or computed."""
    kind = input_kind(layer)
    if layer not in stored:
        return computer.activations(layer, computer.de_embeddings(layer, step, kinds=(kind,))[kind])
    found = stored_top_tokens(driver, computer.transcoders.name, layer, kind)
    d_sae = computer.transcoders.transcoders[layer].cfg.d_sae
    k = max((r["rank"] for r in found), default=0)
    ids = torch.zeros((d_sae, k), dtype=torch.long)
    values = torch.full((d_sae, k), torch.nan)
    for r in found:
        ids[r["index"], r["rank"] - 1] = r["token"]
        values[r["index"], r["rank"] - 1] = r["weight"]
    if not found or values.isnan().any():
        raise ComputeError(f"layer {layer} of {computer.transcoders.name!r}: its stored de-embeddings are incomplete")
    empty = torch.zeros((d_sae, 0))
    return computer.activations(layer, Ranked(ids, values, empty.long(), empty))


class _Rows:
    """LayerWeights turned into the rows store/weights.py writes (token texts decoded once)."""

    def __init__(self, model: HookedTransformer, computer: WeightsComputer) -> None:
        self.model, self.computer = model, computer
        self.set_name, self.model_name = computer.transcoders.name, model.cfg.model_name
        self.texts: dict[int, str] = {}

    def text(self, token: int) -> str:
        if token not in self.texts:
            self.texts[token] = token_text(self.model, token)
        return self.texts[token]

    def feature(self, layer: int, index: int) -> dict:
        return {
            "id": feature_id(self.set_name, layer, index),
            "transcoder_set": self.set_name,
            "layer": layer,
            "index": index,
            "name": feature_caption(layer, index),
        }

    def layer(self, weights: LayerWeights) -> WeightsLayer:
        layer = weights.layer
        d_sae = self.computer.transcoders.transcoders[layer].cfg.d_sae
        fid = [feature_id(self.set_name, layer, i) for i in range(d_sae)]
        features = {f: self.feature(layer, i) for i, f in enumerate(fid)}
        tokens: set[int] = set()
        rows: dict[str, list[dict]] = {"DE_EMBEDDING": [], "LOGIT_LENS": []}

        def vocab(ids: list[int]) -> list[str]:
            tokens.update(ids)
            return [vocab_id(self.model_name, t) for t in ids]

        for kind, ranked in weights.de_embedding.items():
            for f, ids, w, rank in _ranked_rows(ranked):
                rows["DE_EMBEDDING"].append({"f": fid[f], "kind": kind, "v": vocab(ids), "w": w, "rank": rank})
        for f, ids, w, rank in _ranked_rows(weights.logit_lens):
            rows["LOGIT_LENS"].append({"f": fid[f], "v": vocab(ids), "w": w, "rank": rank})
        if weights.virtual is not None:
            rows["VIRTUAL_WEIGHT"] = []
            for g, ids, w, rank in _ranked_rows(weights.virtual):
                rows["VIRTUAL_WEIGHT"].append({"f": fid[g], "e": self.earlier(ids, features), "w": w, "rank": rank})
        if weights.pullback is not None:
            rows["PULLBACK"] = list(self.pullback_rows(weights, fid, features, vocab))
        inputs = self.positive(weights.de_embedding[weights.input_kind])
        outputs = self.positive(weights.logit_lens)
        labels = []
        for i in range(d_sae):
            auto = auto_label(inputs[i], outputs[i])
            labels.append({"id": fid[i], "auto_label": auto, "name": feature_caption(layer, i, None, auto)})
        return WeightsLayer(
            model=self.model_name,
            transcoder_set=self.set_name,
            layer=layer,
            top_k=self.computer.k,
            features=list(features.values()),
            vocab=[
                {
                    "id": vocab_id(self.model_name, t),
                    "model": self.model_name,
                    "token_id": t,
                    "text": self.text(t),
                    "name": self.text(t),
                }
                for t in sorted(tokens)
            ],
            labels=labels,
            kinds=sorted(weights.de_embedding),
            rows=rows,
        )

    def positive(self, ranked: Ranked) -> list[list[str]]:
        """Per feature, the texts of its top-list tokens with a positive value: a token with none
        excites (promotes) nothing, so a dead feature, or one that reads (writes) no token, names none."""
        ids, values = ranked.top_ids.tolist(), ranked.top_values.tolist()
        return [[self.text(t) for t, v in zip(row, vals) if v > 0] for row, vals in zip(ids, values)]

    def earlier(self, global_ids: list[int], features: dict[str, dict]) -> list[str]:
        """Feature ids of earlier features named by global ids; each joins the nodes to create."""
        out = []
        layers, index = self.computer.feature_of(torch.tensor(global_ids, dtype=torch.long))
        for layer, i in zip(layers.tolist(), index.tolist()):
            f = feature_id(self.set_name, layer, i)
            if f not in features:
                features[f] = self.feature(layer, i)
            out.append(f)
        return out

    def pullback_rows(self, weights: LayerWeights, fid: list[str], features: dict[str, dict], vocab):
        pb = weights.pullback
        sides = (
            (pb.top_tokens.tolist(), pb.top_via.tolist(), pb.top_values.tolist(), 1),
            (pb.bottom_tokens.tolist(), pb.bottom_via.tolist(), pb.bottom_values.tolist(), -1),
        )
        for g in range(len(fid)):
            v, via, w, rank = [], [], [], []
            for tokens, vias, values, sign in sides:
                kept = [j for j, x in enumerate(values[g]) if x != 0.0]  # 0 marks an empty slot
                v += [tokens[g][j] for j in kept]
                via += [vias[g][j] for j in kept]
                w += [values[g][j] for j in kept]
                rank += [sign * (n + 1) for n in range(len(kept))]
            if w:
                yield {"f": fid[g], "v": vocab(v), "via": self.earlier(via, features), "w": w, "rank": rank}


def _ranked_rows(ranked: Ranked):
    """(row, ids, weights, ranks) per row: the top list ranked 1..k, then the bottom one -1..-k."""
    top_ids, top_values = ranked.top_ids.tolist(), ranked.top_values.tolist()
    bottom_ids, bottom_values = ranked.bottom_ids.tolist(), ranked.bottom_values.tolist()
    for r in range(len(top_ids)):
        k_top, k_bottom = len(top_ids[r]), len(bottom_ids[r])
        yield (
            r,
            top_ids[r] + bottom_ids[r],
            top_values[r] + bottom_values[r],
            list(range(1, k_top + 1)) + [-(n + 1) for n in range(k_bottom)],
        )
