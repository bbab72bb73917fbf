"""Per-layer SAELens transcoders: loading by release and id or from disk, and checking that
they fit the model before any compute.

A transcoder set is given by a spec string:
- a named set (see NAMED_SETS), e.g. `gemma-scope-2-270m-pt-transcoders-all`: every layer of
  that release, at the width, sparsity and skip connection the set names;
- `RELEASE:ID_TEMPLATE`, e.g. `gemma-scope-2-270m-pt-transcoders-all:layer_{layer}_width_16k_l0_big`,
  where `{layer}` runs over the model's layers (`SAE.from_pretrained`);
- a local directory whose subdirectories each hold one transcoder saved by SAELens
  (`sae.save_model(dir)`, read back with `SAE.load_from_disk`); the set is named by the
  directory's absolute path;
- `planted`: the planted-circuit model's transcoders (compute/planted.py), read from its build
  in the user cache like a directory, and named planted.TRANSCODER_SET.
Python callers may also pass already-loaded transcoders (`TranscoderSet.from_saes`). A set that
`load_transcoders` loaded keeps the spec that loads it again (`spec`; a directory's absolute
path), which computed graphs record so that interventions can reload it.

Each transcoder's layer, and the hooks it reads and writes, come from its config
(`metadata.hook_name`, `metadata.hook_name_out`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from sae_lens import SAE, JumpReLUSkipTranscoder, JumpReLUTranscoder, SkipTranscoder, Transcoder
from transformer_lens import HookedTransformer

from circuitstore.compute import planted
from circuitstore.compute.errors import ComputeError
from circuitstore.compute.models import DTYPES
from circuitstore.settings import PLANTED

NAMED_SETS = {
    # GemmaScope 2, Gemma 3 270M: 16k latents, small L0, affine skip connection.
    "gemma-scope-2-270m-pt-transcoders-all": "layer_{layer}_width_16k_l0_small_affine",
}

# Hooks a transcoder may read: the MLP's input, before or after the pre-MLP norm. Each is
# computed before the MLP, so the transcoder can stand in for it.
INPUT_HOOKS = ("hook_resid_mid", "hook_mlp_in", "ln2.hook_normalized")
OUTPUT_HOOK = "hook_mlp_out"
# ReLU or JumpReLU latents, with or without a linear skip path: the replacement stays linear
# in the activations once they are fixed.
SUPPORTED = (Transcoder, SkipTranscoder, JumpReLUTranscoder, JumpReLUSkipTranscoder)
_LAYER = re.compile(r"^blocks\.(\d+)\.(.+)$")


@dataclass(frozen=True)
class TranscoderSet:
    """One transcoder per layer, in layer order, with the hooks each reads and writes, and the
    spec `load_transcoders` loads it from again (None for sets built in Python)."""

    name: str
    transcoders: tuple[Transcoder, ...]
    hooks_in: tuple[str, ...]
    hooks_out: tuple[str, ...]
    spec: str | None = None

    @classmethod
    def from_saes(cls, name: str, saes: Sequence[SAE], model: HookedTransformer) -> TranscoderSet:
        """Order `saes` by the layer their hooks name and check them against `model`."""
        by_layer: dict[int, Transcoder] = {}
        for i, sae in enumerate(saes):
            where = f"transcoder {i} of {name!r}"
            if not isinstance(sae, Transcoder):
                raise ComputeError(f"{where} is a {type(sae).__name__}, not a SAELens transcoder")
            hook_in, hook_out = sae.cfg.metadata.hook_name, sae.cfg.metadata.hook_name_out
            m_in, m_out = _LAYER.match(hook_in or ""), _LAYER.match(hook_out or "")
            if not (m_in and m_out):
                raise ComputeError(f"{where}: hooks {hook_in!r} -> {hook_out!r} name no layer")
            layer = int(m_out.group(1))
            _read_normalized_mlp_input(sae, model, layer)
            if layer in by_layer:
                raise ComputeError(f"{name!r} holds two transcoders for layer {layer}")
            by_layer[layer] = sae
        _check(name, by_layer, model)
        layers = range(model.cfg.n_layers)
        return cls(
            name,
            tuple(by_layer[layer] for layer in layers),
            tuple(by_layer[layer].cfg.metadata.hook_name for layer in layers),
            tuple(by_layer[layer].cfg.metadata.hook_name_out for layer in layers),
        )

    @property
    def n_layers(self) -> int:
        return len(self.transcoders)

    def has_skip(self, layer: int) -> bool:
        return isinstance(self.transcoders[layer], SkipTranscoder)

    def encode(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """The latent activations of layer `layer` on its input `x` [..., d_model]."""
        tc = self.transcoders[layer]
        return tc.encode(x.to(tc.dtype))

    def output(self, layer: int, x: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
        """What layer `layer`'s transcoder writes for input `x` and activations `acts`: the
        decoded latents plus the skip path."""
        tc = self.transcoders[layer]
        out = tc.decode(acts)
        return out + x.to(tc.dtype) @ tc.W_skip.T if self.has_skip(layer) else out

    def decoders(self, layer: int, features: torch.Tensor) -> list[tuple[int, torch.Tensor]]:
        """What latents `features` of layer `layer` write per unit of activation, and where:
        (output layer, decoder rows [k, d_model]) for each layer they write to. A per-layer
        transcoder writes to its own layer's output only; a cross-layer one writes to several."""
        return [(layer, self.transcoders[layer].W_dec[features])]


def load_transcoders(
    spec: str | Path, model: HookedTransformer, device: str = "cpu", dtype: str = "float32"
) -> TranscoderSet:
    """Resolve `spec` (see the module docstring), load every layer's transcoder and check the set."""
    spec = str(spec)
    if spec == PLANTED:  # before directories, as in load_model
        tcs = _from_directory(planted.cached().transcoders, planted.TRANSCODER_SET, model, device, dtype)
        return replace(tcs, spec=spec)
    path = Path(spec)
    if path.is_dir():
        name = str(path.resolve())
        return replace(_from_directory(path, name, model, device, dtype), spec=name)
    if path.exists():
        raise ComputeError(f"{spec!r} is not a directory of transcoders")
    release, _, template = spec.partition(":")
    template = template or NAMED_SETS.get(release, "")
    if "{layer}" not in template:
        known = ", ".join(NAMED_SETS)
        raise ComputeError(
            f"transcoders {spec!r}: give a directory, a named set ({known}, {PLANTED}) or RELEASE:ID_TEMPLATE "
            "with {layer}"
        )
    saes = []
    for layer in range(model.cfg.n_layers):
        sae_id = template.format(layer=layer)
        try:
            saes.append(SAE.from_pretrained(release, sae_id, device=device, dtype=dtype))
        except (OSError, ValueError, KeyError) as exc:
            raise ComputeError(f"cannot load transcoder {release}/{sae_id}: {exc}") from exc
    return replace(TranscoderSet.from_saes(spec, saes, model), spec=spec)


def _from_directory(path: Path, name: str, model: HookedTransformer, device: str, dtype: str) -> TranscoderSet:
    subdirs = sorted(p for p in path.iterdir() if (p / "cfg.json").is_file())
    if not subdirs:
        raise ComputeError(f"{str(path)!r} holds no saved transcoders (subdirectories with cfg.json)")
    saes = [SAE.load_from_disk(p, device=device, dtype=dtype) for p in subdirs]
    return TranscoderSet.from_saes(name, saes, model)


def _read_normalized_mlp_input(tc: Transcoder, model: HookedTransformer, layer: int) -> None:
    """GemmaScope 2 transcoders were trained on the pre-MLP norm's output (their Hugging Face hook
    point, which SAELens keeps as `hf_hook_name`), but SAELens names TransformerLens'
    `hook_mlp_in` for them, which is the residual *before* that norm. TransformerLens exposes the
    norm's output only before its weight (`ln2.hook_normalized`), so read that hook and fold the
    weight into the encoder and the skip path. The transcoder is converted in place, and its
    metadata names the new hook, so converting it again changes nothing."""
    meta = tc.cfg.metadata
    if meta.hook_name != f"blocks.{layer}.hook_mlp_in" or not str(meta.hf_hook_name or "").endswith(
        "pre_feedforward_layernorm.output"
    ):
        return
    if tc.cfg.apply_b_dec_to_input:
        raise ComputeError(
            f"layer {layer}: a transcoder that subtracts b_dec from its input cannot read the norm's output"
        )
    weight = model.blocks[layer].ln2.w.detach().to(device=tc.W_enc.device, dtype=tc.W_enc.dtype)
    with torch.no_grad():
        tc.W_enc.mul_(weight[:, None])
        if isinstance(tc, SkipTranscoder):
            tc.W_skip.mul_(weight[None, :])
    meta.hook_name = f"blocks.{layer}.ln2.hook_normalized"


def _check(name: str, by_layer: dict[int, Transcoder], model: HookedTransformer) -> None:
    """Every mismatch that would make attribution wrong, found before any compute."""
    n_layers, d_model = model.cfg.n_layers, model.cfg.d_model
    missing = [layer for layer in range(n_layers) if layer not in by_layer]
    if missing:
        raise ComputeError(f"{name!r} has no transcoder for layer(s) {missing} of {n_layers}")
    extra = sorted(layer for layer in by_layer if layer >= n_layers)
    if extra:
        raise ComputeError(f"{name!r} has transcoders for layer(s) {extra}, but the model has {n_layers} layers")
    for layer, tc in sorted(by_layer.items()):
        where = f"{name!r} layer {layer}"
        if (tc.cfg.d_in, tc.cfg.d_out) != (d_model, d_model):
            raise ComputeError(
                f"{where}: transcoder maps {tc.cfg.d_in} -> {tc.cfg.d_out}, the model's d_model is {d_model}"
            )
        if tc.cfg.normalize_activations != "none":
            raise ComputeError(f"{where}: input normalisation {tc.cfg.normalize_activations!r} is not supported")
        if type(tc) not in SUPPORTED:
            raise ComputeError(
                f"{where}: {type(tc).__name__} is not supported ({', '.join(c.__name__ for c in SUPPORTED)})"
            )
        hook_in, hook_out = tc.cfg.metadata.hook_name, tc.cfg.metadata.hook_name_out
        for hook in (hook_in, hook_out):
            if hook not in model.hook_dict:
                raise ComputeError(f"{where}: the model has no hook {hook!r}")
        if hook_out != f"blocks.{layer}.{OUTPUT_HOOK}":
            raise ComputeError(f"{where}: writes {hook_out!r}; a transcoder must write blocks.{layer}.{OUTPUT_HOOK}")
        if hook_in not in {f"blocks.{layer}.{h}" for h in INPUT_HOOKS}:
            allowed = ", ".join(f"blocks.{layer}.{h}" for h in INPUT_HOOKS)
            raise ComputeError(f"{where}: reads {hook_in!r}; expected one of {allowed}")
    if not model.cfg.use_hook_mlp_in and any(
        tc.cfg.metadata.hook_name.endswith(".hook_mlp_in") for tc in by_layer.values()
    ):
        # TransformerLens only fires hook_mlp_in when asked to.
        model.set_use_hook_mlp_in(True)
    dtype = next(iter(by_layer.values())).dtype
    if not all(tc.dtype == dtype for tc in by_layer.values()) or dtype not in DTYPES.values():
        raise ComputeError(f"{name!r}: transcoders must share one dtype, {', '.join(DTYPES)}")
