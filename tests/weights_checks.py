"""The weights-only views written out as plain numpy over a model's and its transcoders' weight
matrices (and a direct forward pass of block 0), for the tests to check compute/weights.py and
what the store holds against."""

from __future__ import annotations

import numpy as np
import torch


def np32(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy().astype(np.float64)


def normalise(model, x: np.ndarray) -> np.ndarray:
    """The model's normalisation without weight, written out."""
    if model.cfg.normalization_type == "LN":
        x = x - x.mean(-1, keepdims=True)
    return x / np.sqrt((x**2).mean(-1, keepdims=True) + model.cfg.eps)


def centre(model, y: np.ndarray) -> np.ndarray:
    return y - y.mean(-1, keepdims=True) if model.cfg.normalization_type == "LN" else y


def reads_normalised(tcs, layer: int) -> bool:
    return tcs.hooks_in[layer].endswith("ln2.hook_normalized")


def read_whole(model, tcs, layer, x):
    return normalise(model, x) if reads_normalised(tcs, layer) else x


def read_part(model, tcs, layer, y):
    return centre(model, y) if reads_normalised(tcs, layer) else y


def block0_extended(model) -> np.ndarray:
    """Every token alone through block 0 with its attention output zeroed: E + MLP_0(E)."""
    e = model.W_E.detach()[:, None, :]
    with torch.no_grad(), model.hooks(fwd_hooks=[("blocks.0.hook_attn_out", lambda v, hook: torch.zeros_like(v))]):
        out = model.blocks[0](e)
    return np32(out[:, 0])


def top_bottom(matrix: np.ndarray, k: int):
    """Per row: ids and values of the k largest (descending) and k smallest (ascending)."""
    order = np.argsort(-matrix, axis=1, kind="stable")
    top = order[:, :k]
    bottom = np.argsort(matrix, axis=1, kind="stable")[:, :k]
    return top, np.take_along_axis(matrix, top, 1), bottom, np.take_along_axis(matrix, bottom, 1)


def de_embedding(model, tcs, layer: int, kind: str) -> np.ndarray:
    """[features, tokens]: D[v, f] = read(E[v] or X[v]) . W_enc[:, f]."""
    x = np32(model.W_E) if kind == "raw" else block0_extended(model)
    return (read_whole(model, tcs, layer, x) @ np32(tcs.transcoders[layer].W_enc)).T


def logit_lens(model, tcs, layer: int) -> np.ndarray:
    """[features, tokens]: the decoder rows through the final norm, on the demeaned unembedding."""
    w_u = np32(model.W_U)
    w_u = w_u - w_u.mean(1, keepdims=True)
    return (centre(model, np32(tcs.transcoders[layer].W_dec)) * np32(model.ln_final.w)) @ w_u


def virtual_weights(model, tcs, layer: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """[later features, earlier features] and the (layer, index) of each earlier feature."""
    blocks = [read_part(model, tcs, layer, np32(tcs.transcoders[e].W_dec)) for e in range(layer)]
    names = [(e, i) for e, b in enumerate(blocks) for i in range(len(b))]
    return (np.concatenate(blocks) @ np32(tcs.transcoders[layer].W_enc)).T, names


def token_activations(model, tcs, layer: int) -> np.ndarray:
    """[tokens, features]: SAELens' encode of each token's embedding alone (raw for layer 0,
    extended after), read as the transcoder reads its input."""
    x = np32(model.W_E) if layer == 0 else block0_extended(model)
    with torch.no_grad():
        inputs = torch.tensor(read_whole(model, tcs, layer, x), dtype=torch.float32)
        return np32(tcs.transcoders[layer].encode(inputs))


def pullback_pairs(model, tcs, layer: int, k: int):
    """Per later feature g: the k largest and k smallest nonzero a_f(v) V[f, g] over every
    (token, earlier feature) pair, as (value, token, (earlier layer, index)), by brute force."""
    w_enc = np32(tcs.transcoders[layer].W_enc)
    earlier = [
        (token_activations(model, tcs, e), read_part(model, tcs, layer, np32(tcs.transcoders[e].W_dec)) @ w_enc)
        for e in range(layer)
    ]
    out = []
    for g in range(w_enc.shape[1]):
        pairs = []
        for e, (acts, v) in enumerate(earlier):
            b = acts * v[None, :, g]
            pairs += [(b[t, f], int(t), (e, int(f))) for t, f in zip(*np.nonzero(b))]
        best = sorted((p for p in pairs if p[0] > 0), key=lambda p: -p[0])[:k]
        worst = sorted((p for p in pairs if p[0] < 0), key=lambda p: p[0])[:k]
        out.append((best, worst))
    return out
