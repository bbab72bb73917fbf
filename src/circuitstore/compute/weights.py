"""What the weights alone say about each transcoder latent, with no prompt: de-embeddings, the logit
lens, virtual weights and the pullback onto the vocabulary, as in the transcoder part of ARENA's
SAE-circuits material (section "Transcoders": pullback, de-embedding, extended embedding, blind
case study) and the logit lens of feature pages.

Notation. E[v] is token v's embedding row (`model.embed`: W_E, with Gemma's sqrt(d_model) folded
in by TransformerLens; learned positional embeddings are left out, they belong to a position, not
a token). Layer l's transcoder has encoder W_enc^l [d_model, d_sae] (a GemmaScope 2 encoder has the
pre-MLP norm's weight folded in, see transcoders.py) and decoder W_dec^l [d_sae, d_model], whose
rows it writes into the residual stream at hook_mlp_out.

Reading. What layer l's transcoder reads at its input hook when the residual stream there holds
just x: one that reads the pre-MLP norm's output (`ln2.hook_normalized`) reads n(x), the model's
normalisation without its weight (LayerNorm: (x - mean x) / sqrt(var x + eps); RMSNorm:
x / sqrt(mean x^2 + eps)); one that reads the residual itself (`hook_mlp_in`, `hook_resid_mid`)
reads x. A vector that is only one part of the residual (a decoder row) is read through the norm
with its scale frozen, as in the replacement model; with no prompt to freeze it at, the scale is
1, so the part y is read as P y, P the centring (LayerNorm) or the identity (RMSNorm, or a reader
of the raw residual). A frozen scale multiplies all of one later feature's values by one positive
number: rankings are exact, magnitudes are per unit of norm scale.

What is computed, for every feature f of layer l:
- de-embedding, kind `raw`: D[v, f] = read_l(E[v]) . W_enc^l[:, f], the tokens whose embedding
  alone most excites (top) or inhibits (bottom) f, through the frozen normalisation as the
  material does (for LayerNorm, n is its standardisation of each embedding row);
- de-embedding, kind `extended` (layers >= 1): the same for X[v] = E[v] + MLP_0(E[v]), the
  embedding plus block 0's MLP applied to it alone (block 0's pre-MLP norm, MLP and, in Gemma,
  post-MLP norm, as the block computes them; attention left out), which read_l then normalises
  as ARENA standardises its extended embedding. Tied embeddings (GPT-2, Gemma) leave E[v]
  uninformative and MLP_0 breaks the symmetry. Layer 0 has no extended kind: its transcoder stands
  in for MLP_0 and reads before it;
- logit lens: L[f, v] = F(W_dec^l[f]) . (W_U[:, v] - mean_u W_U[:, u]), F the final norm's linear
  part times its weight (frozen scale 1; its bias is the same for every feature and left out),
  demeaned over the vocabulary because softmax ignores a shift that every logit shares (the same
  reading attribution.py uses for logit nodes): the tokens f promotes (top) and suppresses (bottom);
- virtual weights (layers m >= 1, over every feature f of every layer l < m):
  V[f, g] = P_m(W_dec^l[f]) . W_enc^m[:, g], how much f's decoder row moves g's pre-activation along
  the direct residual path (no attention, no MLP or skip path between them): ARENA's pullback of g
  onto the earlier features, top-k and bottom-k per later feature g;
- pullback onto the vocabulary (layers m >= 1): B[v, f, g] = a_f(v) V[f, g], over pairs of a token
  v and an earlier feature f, where a_f(v) is f's activation (its transcoder's encoder with bias,
  threshold and activation function) when its input holds v's embedding alone (raw for layer 0,
  extended after): which tokens drive g, through which earlier feature (the blind case study's
  view). Since a_f >= 0 is non-decreasing in D[., f], the k best pairs lie among the k features
  with the largest (bottom: smallest) a_max(f) V[f, g] and each one's k tokens of largest
  activation (its top de-embeddings), so they are found exactly without forming anything of size
  d_vocab x d_sae x d_sae. Pairs with a_f(v) = 0 are left out.

Every list holds the k largest (top, descending) and the k smallest (bottom, ascending) values,
k capped at half the candidates so the two never overlap. Tiles of at most `block` elements run
over the vocabulary and the features, so no d_vocab x d_sae or d_sae x d_sae matrix is ever
resident; they run on the device the model and transcoders are on, in float32.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from transformer_lens import HookedTransformer
from transformer_lens.utilities.architectures import POST_NORM_ARCHITECTURES

from circuitstore.compute.errors import ComputeError
from circuitstore.compute.transcoder_set import TranscoderSet
from circuitstore.compute.transcoders import SaeLensTranscoders

RAW, EXTENDED = "raw", "extended"
# Elements per tile (64 MiB in float32), and features per tile row.
BLOCK = 1 << 24
FEATURE_BLOCK = 4096
_NORMALISED_READ = ".ln2.hook_normalized"

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Ranked:
    """For each row (a feature), the k largest values (top, descending) and the k smallest
    (bottom, ascending) of its row of a matrix, with the column each came from."""

    top_ids: torch.Tensor  # [rows, k] long
    top_values: torch.Tensor  # [rows, k] float32
    bottom_ids: torch.Tensor
    bottom_values: torch.Tensor


@dataclass(frozen=True)
class Activations:
    """Each feature's k tokens of largest activation on a token's embedding alone (descending)."""

    tokens: torch.Tensor  # [d_sae, k] long
    values: torch.Tensor  # [d_sae, k] float32, >= 0


@dataclass(frozen=True)
class Pullback:
    """Per later feature, the k (token, earlier feature) pairs of largest and of smallest
    a_f(v) V[f, g]; `via` holds earlier features as global ids (see WeightsComputer.feature_of),
    and a value of 0 marks an empty slot."""

    top_tokens: torch.Tensor  # [d_sae, k] long
    top_via: torch.Tensor  # [d_sae, k] long
    top_values: torch.Tensor  # [d_sae, k] float32
    bottom_tokens: torch.Tensor
    bottom_via: torch.Tensor
    bottom_values: torch.Tensor


@dataclass(frozen=True)
class LayerWeights:
    """Everything the weights say about the features of one layer."""

    layer: int
    de_embedding: dict[str, Ranked]  # kind -> over token ids
    logit_lens: Ranked  # over token ids
    virtual: Ranked | None  # over earlier features (global ids); None for layer 0
    pullback: Pullback | None  # None for layer 0

    @property
    def input_kind(self) -> str:
        return input_kind(self.layer)


def input_kind(layer: int) -> str:
    """The embedding kind a token's activation of a layer's features is read from: raw for
    layer 0 (its transcoder reads before MLP_0), extended after."""
    return RAW if layer == 0 else EXTENDED


class _TopBottom:
    """Running top-k and bottom-k of each row over column blocks."""

    def __init__(self, rows: int, k: int, device: torch.device) -> None:
        self.k = k
        self.top_values = torch.full((rows, k), -torch.inf, device=device)
        self.top_ids = torch.zeros((rows, k), dtype=torch.long, device=device)
        self.bottom_values = torch.full((rows, k), torch.inf, device=device)
        self.bottom_ids = torch.zeros((rows, k), dtype=torch.long, device=device)

    def add(self, rows: slice, values: torch.Tensor, ids: torch.Tensor) -> None:
        """Merge `values` [rows, columns] whose columns are `ids` [columns]."""
        k = min(self.k, values.shape[1])
        for largest, vals, idx in ((True, self.top_values, self.top_ids), (False, self.bottom_values, self.bottom_ids)):
            cand = values.topk(k, dim=1, largest=largest)
            merged_values = torch.cat([vals[rows], cand.values], dim=1)
            merged_ids = torch.cat([idx[rows], ids[cand.indices]], dim=1)
            best = merged_values.topk(self.k, dim=1, largest=largest)
            vals[rows] = best.values
            idx[rows] = merged_ids.gather(1, best.indices)

    def result(self) -> Ranked:
        return Ranked(self.top_ids.cpu(), self.top_values.cpu(), self.bottom_ids.cpu(), self.bottom_values.cpu())


def _spans(n: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, size):
        yield lo, min(lo + size, n)


class WeightsComputer:
    """The weights-only views of one model and transcoder set (see the module docstring)."""

    def __init__(
        self,
        model: HookedTransformer,
        transcoders: TranscoderSet,
        k: int,
        block: int = BLOCK,
        feature_block: int = FEATURE_BLOCK,
    ) -> None:
        cfg = model.cfg
        if cfg.attn_only or cfg.parallel_attn_mlp or cfg.original_architecture in POST_NORM_ARCHITECTURES:
            raise ComputeError(
                f"{cfg.model_name}: weights need a model whose MLP reads the residual after attention through its "
                "pre-MLP norm (not attention-only, parallel or post-norm)"
            )
        if not isinstance(transcoders, SaeLensTranscoders):
            # circuit-tracer's layouts (cross-layer above all) write through other decoders.
            raise ComputeError(
                f"{transcoders.name!r}: weights are read from SAELens transcoders (one per layer), not from a "
                f"{transcoders.kind} set in circuit-tracer's layout"
            )
        if k < 1:
            raise ComputeError(f"top-k must be at least 1, got {k}")
        self.model, self.transcoders, self.k = model, transcoders, k
        self.block, self.feature_block = block, feature_block
        self.device = model.W_E.device
        self.norm = cfg.normalization_type
        self.eps = cfg.eps
        self.d_vocab = cfg.d_vocab
        # Earlier features are named by one integer across layers: layer * stride + index.
        self.stride = max(tc.cfg.d_sae for tc in transcoders.transcoders)
        self._extended: torch.Tensor | None = None

    # ---- reading ------------------------------------------------------------------------

    def _centre(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(-1, keepdim=True) if self.norm in ("LN", "LNPre") else x

    def _normalised(self, layer: int) -> bool:
        return self.transcoders.hooks_in[layer].endswith(_NORMALISED_READ)

    def read_whole(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """What layer's transcoder reads when the residual stream holds just the rows of x."""
        if not self._normalised(layer) or self.norm is None:
            return x
        x = self._centre(x)
        return x / (x.pow(2).mean(-1, keepdim=True) + self.eps).sqrt()

    def read_part(self, layer: int, y: torch.Tensor) -> torch.Tensor:
        """How layer's transcoder reads the rows of y as parts of the residual (norm scale frozen at 1)."""
        return self._centre(y) if self._normalised(layer) else y

    def final_part(self, y: torch.Tensor) -> torch.Tensor:
        """The final norm's linear part, times its weight, on parts y of the final residual."""
        if self.norm is None:
            return y
        w = getattr(self.model.ln_final, "w", None)
        y = self._centre(y)
        return y * w.float() if w is not None else y

    # ---- embeddings ---------------------------------------------------------------------

    def embedding(self, lo: int, hi: int) -> torch.Tensor:
        """E[v] for tokens lo..hi-1."""
        tokens = torch.arange(lo, hi, device=self.device)[None]
        return self.model.embed(tokens)[0].float()

    @torch.no_grad()
    def extended_embedding(self) -> torch.Tensor:
        """X = E + MLP_0(E) for the whole vocabulary [d_vocab, d_model] (the size of W_E), made once."""
        if self._extended is None:
            block0 = self.model.blocks[0]
            rows = max(1, self.block // max(self.model.cfg.d_mlp or 1, 1))
            out = torch.empty((self.d_vocab, self.model.cfg.d_model), device=self.device)
            for lo, hi in _spans(self.d_vocab, rows):
                e = self.embedding(lo, hi)[None]
                out[lo:hi] = (e + block0.apply_mlp(block0.ln2(e.to(self.model.cfg.dtype))).float())[0]
            self._extended = out
        return self._extended

    # ---- the views ----------------------------------------------------------------------

    def _cap(self, candidates: int) -> int:
        return max(1, min(self.k, candidates // 2))

    @torch.no_grad()
    def de_embeddings(
        self, layer: int, progress: Progress | None = None, kinds: Sequence[str] | None = None
    ) -> dict[str, Ranked]:
        """Raw (and, for layers >= 1, extended) de-embeddings of every feature of `layer`, or
        only those of `kinds`."""
        tc = self.transcoders.transcoders[layer]
        enc_t = tc.W_enc.detach().float().T.contiguous()  # [d_sae, d_model]
        d_sae = enc_t.shape[0]
        kinds = kinds or ([RAW] if layer == 0 else [RAW, EXTENDED])
        runs = {kind: _TopBottom(d_sae, self._cap(self.d_vocab), self.device) for kind in kinds}
        fb = min(d_sae, self.feature_block)
        vb = max(1, self.block // fb)
        extended = self.extended_embedding() if EXTENDED in kinds else None
        spans = list(_spans(self.d_vocab, vb))
        for n, (lo, hi) in enumerate(spans):
            ids = torch.arange(lo, hi, device=self.device)
            xs = {}
            if RAW in kinds:
                xs[RAW] = self.embedding(lo, hi)
            if extended is not None:
                xs[EXTENDED] = extended[lo:hi]
            for kind, x in xs.items():
                read = self.read_whole(layer, x).T  # [d_model, tokens]
                for f0, f1 in _spans(d_sae, fb):
                    runs[kind].add(slice(f0, f1), enc_t[f0:f1] @ read, ids)
            if progress:
                progress("de-embedding", n + 1, len(spans))
        return {kind: run.result() for kind, run in runs.items()}

    @torch.no_grad()
    def logit_lens(self, layer: int, progress: Progress | None = None) -> Ranked:
        tc = self.transcoders.transcoders[layer]
        w_u = self.model.W_U.detach().float()  # [d_model, d_vocab_out]
        n_out = w_u.shape[1]
        u_mean = w_u.mean(1)
        d_sae = tc.cfg.d_sae
        run = _TopBottom(d_sae, self._cap(n_out), self.device)
        fb = min(d_sae, self.feature_block)
        vb = max(1, self.block // fb)
        spans = list(_spans(d_sae, fb))
        for n, (f0, f1) in enumerate(spans):
            y = self.final_part(tc.W_dec[f0:f1].detach().float())
            shift = (y @ u_mean)[:, None]
            for lo, hi in _spans(n_out, vb):
                run.add(slice(f0, f1), y @ w_u[:, lo:hi] - shift, torch.arange(lo, hi, device=self.device))
            if progress:
                progress("logit lens", n + 1, len(spans))
        return run.result()

    @torch.no_grad()
    def virtual_weights(
        self, layer: int, activations: dict[int, Activations], progress: Progress | None = None
    ) -> tuple[Ranked, Ranked]:
        """V[f, g] over every earlier feature f, per feature g of `layer`, and the same weighted by
        each f's largest activation on one token (what the pullback starts from)."""
        tc = self.transcoders.transcoders[layer]
        enc_t = tc.W_enc.detach().float().T.contiguous()
        d_sae = enc_t.shape[0]
        candidates = sum(self.transcoders.transcoders[e].cfg.d_sae for e in range(layer))
        run = _TopBottom(d_sae, self._cap(candidates), self.device)
        weighted = _TopBottom(d_sae, self._cap(candidates), self.device)
        fb = min(d_sae, self.feature_block)
        steps = [(e, f0, f1) for e in range(layer) for f0, f1 in _spans(self.transcoders.transcoders[e].cfg.d_sae, fb)]
        for n, (earlier, f0, f1) in enumerate(steps):
            dec = self.transcoders.transcoders[earlier].W_dec[f0:f1].detach().float()
            y_t = self.read_part(layer, dec).T  # [d_model, earlier features]
            a_max = activations[earlier].values[f0:f1, 0].to(self.device)
            ids = torch.arange(f0, f1, device=self.device) + earlier * self.stride
            gb = max(1, self.block // (f1 - f0))
            for g0, g1 in _spans(d_sae, gb):
                v = enc_t[g0:g1] @ y_t  # [later, earlier]
                run.add(slice(g0, g1), v, ids)
                weighted.add(slice(g0, g1), v * a_max[None, :], ids)
            if progress:
                progress("virtual weights", n + 1, len(steps))
        return run.result(), weighted.result()

    def feature_of(self, global_id: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(layer, index) of earlier features named by global ids."""
        return global_id // self.stride, global_id % self.stride

    def pullback(self, weighted: Ranked, activations: dict[int, Activations]) -> Pullback:
        """The top and bottom (token, earlier feature) pairs per later feature (module docstring)."""
        k = weighted.top_ids.shape[1]
        sides = []
        for ids, values, largest in (
            (weighted.top_ids, weighted.top_values, True),
            (weighted.bottom_ids, weighted.bottom_values, False),
        ):
            layer, idx = self.feature_of(ids)
            n_later, n_via = ids.shape
            k_tok = next(iter(activations.values())).tokens.shape[1]
            tokens = torch.zeros((n_later, n_via, k_tok), dtype=torch.long)
            ratio = torch.zeros((n_later, n_via, k_tok))
            for e in layer.unique().tolist():
                at = layer == e
                acts = activations[e]
                top = acts.values[idx[at]]  # [m, k_tok]
                tokens[at] = acts.tokens[idx[at]]
                a_max = top[:, :1]
                ratio[at] = torch.where(a_max > 0, top / a_max.clamp(min=torch.finfo(top.dtype).tiny), 0.0)
            pair_values = (values[:, :, None] * ratio).reshape(n_later, -1)
            keep = pair_values > 0 if largest else pair_values < 0
            pair_values = torch.where(keep, pair_values, 0.0)
            order = (pair_values if largest else -pair_values).topk(k, dim=1).indices
            via = ids[:, :, None].expand(-1, -1, k_tok).reshape(n_later, -1)
            sides.append(
                (tokens.reshape(n_later, -1).gather(1, order), via.gather(1, order), pair_values.gather(1, order))
            )
        (tt, tv, tx), (bt, bv, bx) = sides
        return Pullback(tt, tv, tx, bt, bv, bx)

    @torch.no_grad()
    def activations(self, layer: int, top: Ranked) -> Activations:
        """Each feature's top-k tokens by activation, from its top de-embeddings of the input kind
        (activation is non-decreasing in the pre-activation, so the orders agree)."""
        tc = self.transcoders.transcoders[layer]
        bias = tc.b_enc.detach().float()
        if tc.cfg.apply_b_dec_to_input:
            bias = bias - tc.b_dec.detach().float() @ tc.W_enc.detach().float()
        pre = top.top_values.to(self.device) + bias[:, None]
        acts = tc.activation_fn(pre)
        threshold = getattr(tc, "threshold", None)
        if threshold is not None:
            acts = acts * (pre > threshold.detach().float()[:, None])
        return Activations(top.top_ids.clone(), acts.float().cpu())

    @torch.no_grad()
    def layer(self, layer: int, activations: dict[int, Activations], progress: Progress | None = None) -> LayerWeights:
        """All views of one layer; `activations` must hold every earlier layer's."""
        de = self.de_embeddings(layer, progress)
        lens = self.logit_lens(layer, progress)
        virtual = pull = None
        if layer > 0:
            virtual, weighted = self.virtual_weights(layer, activations, progress)
            pull = self.pullback(weighted, activations)
        return LayerWeights(layer, de, lens, virtual, pull)
