"""Transcoder sets: what attribution needs of one, whatever its kind, loaded by a spec string
and checked against the model before any compute.

A spec is one of:
- a named set (see NAMED_SETS), e.g. `gemma-scope-2-270m-pt-transcoders-all`: every layer of
  that SAELens release, at the width, sparsity and skip connection the set names;
- `RELEASE:ID_TEMPLATE`, e.g. `gemma-scope-2-270m-pt-transcoders-all:layer_{layer}_width_16k_l0_big`,
  where `{layer}` runs over the model's layers (`SAE.from_pretrained`);
- a local directory, either of SAELens saves (subdirectories each holding one transcoder,
  `sae.save_model(dir)`, read with `SAE.load_from_disk`; the set is named by the directory's
  absolute path) or in circuit-tracer's layout (a config.yaml naming `model_kind`: a cross-layer
  transcoder, or a per-layer set of ReLU, JumpReLU or Top-K transcoders; see ct_layouts.py);
- a Hugging Face repository in circuit-tracer's layout, `OWNER/NAME[/SUBFOLDER][@REVISION]`
  (e.g. `mntss/clt-gemma-2-2b-426k`, `facebook/crv-8b-instruct-transcoders`), downloaded with
  huggingface_hub and named by the spec, as circuit-tracer and Neuronpedia name it;
  a SAELens release that loads a cross-layer transcoder "as per-layer" (decoders summed, e.g.
  `mntss-gemma-2-2b-2.5m-clt-as-per-layer`) is read this way too, from the release's repository;
- `planted`: the planted-circuit model's transcoders (compute/planted.py), read from its build
  in the user cache like a directory, and named planted.TRANSCODER_SET.
Python callers may also pass already-loaded SAELens transcoders (`SaeLensTranscoders.from_saes`).
A set that `load_transcoders` loaded keeps the spec that loads it again (`spec`; a directory's
absolute path), which computed graphs record so that interventions can reload it.

Every kind offers the TranscoderSet interface, which is all that attribution (replacement.py)
and interventions use: what a layer's latents read and how they activate, and what each writes
at which layers (`decoders`: its own layer for a per-layer transcoder, its own and every later
one for a cross-layer transcoder).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import torch
from sae_lens import SAE, JumpReLUSkipTranscoder, JumpReLUTranscoder, SkipTranscoder, Transcoder
from transformer_lens import HookedTransformer

from circuitstore.compute import ct_layouts, planted
from circuitstore.compute.errors import ComputeError
from circuitstore.compute.models import DTYPES
from circuitstore.compute.transcoder_set import TranscoderSet, check_hooks
from circuitstore.settings import PLANTED

NAMED_SETS = {
    # GemmaScope 2, Gemma 3 270M: 16k latents, small L0, affine skip connection.
    "gemma-scope-2-270m-pt-transcoders-all": "layer_{layer}_width_16k_l0_small_affine",
}

# ReLU or JumpReLU latents, with or without a linear skip path: the replacement stays linear
# in the activations once they are fixed.
SUPPORTED = (Transcoder, SkipTranscoder, JumpReLUTranscoder, JumpReLUSkipTranscoder)
# SAELens conversions that load a cross-layer transcoder as per-layer ones (decoders summed).
CLT_AS_PER_LAYER = ("mntss_clt_layer_transcoder",)
_LAYER = re.compile(r"^blocks\.(\d+)\.(.+)$")
# A Hugging Face repository: OWNER/NAME, an optional subfolder, an optional @revision.
_HUB = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?(@[\w./-]+)?$")


@dataclass(frozen=True, eq=False)
class SaeLensTranscoders(TranscoderSet):
    """One SAELens transcoder per layer, in layer order, with the hooks each reads and writes."""

    kind: ClassVar[str] = "per-layer"
    name: str
    transcoders: tuple[Transcoder, ...]
    hooks_in: tuple[str, ...]
    hooks_out: tuple[str, ...]
    url: str | None = None
    spec: str | None = None

    @classmethod
    def from_saes(
        cls, name: str, saes: Sequence[SAE], model: HookedTransformer, url: str | None = None
    ) -> SaeLensTranscoders:
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
        _check_saes(name, by_layer, model)
        layers = range(model.cfg.n_layers)
        return cls(
            name,
            tuple(by_layer[layer] for layer in layers),
            tuple(by_layer[layer].cfg.metadata.hook_name for layer in layers),
            tuple(by_layer[layer].cfg.metadata.hook_name_out for layer in layers),
            url,
        )

    @property
    def activation(self) -> str:
        return "jumprelu" if isinstance(self.transcoders[0], JumpReLUTranscoder) else "relu"

    @property
    def dtype(self) -> torch.dtype:
        return self.transcoders[0].dtype

    def has_skip(self, layer: int) -> bool:
        return isinstance(self.transcoders[layer], SkipTranscoder)

    def encode(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        tc = self.transcoders[layer]
        return tc.encode(x.to(tc.dtype))

    def output(self, layer: int, x: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
        tc = self.transcoders[layer]
        out = tc.decode(acts)
        return out + x.to(tc.dtype) @ tc.W_skip.T if self.has_skip(layer) else out

    def encoders(self, layer: int, features: torch.Tensor) -> torch.Tensor:
        return self.transcoders[layer].W_enc[:, features].T

    def decoders(self, layer: int, features: torch.Tensor) -> list[tuple[int, torch.Tensor]]:
        return [(layer, self.transcoders[layer].W_dec[features])]

    def bias(self, layer: int) -> torch.Tensor:
        return self.transcoders[layer].b_dec

    def skip(self, layer: int, x: torch.Tensor) -> torch.Tensor | None:
        if not self.has_skip(layer):
            return None
        tc = self.transcoders[layer]
        # A constant of the replacement model: autograd then keeps no copy of x for its gradient.
        return x.to(tc.dtype) @ tc.W_skip.detach().T


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
    if ":" not in spec and _HUB.match(spec):
        return _from_hub(spec, model, device, dtype)
    release, _, template = spec.partition(":")
    lookup = _release(release)
    if lookup is not None and lookup.conversion_func in CLT_AS_PER_LAYER:
        # SAELens sums such a set's decoders into per-layer transcoders: right for activations,
        # wrong for attribution. The cross-layer transcoder itself is in the release's repository.
        return _from_hub(lookup.repo_id, model, device, dtype)
    template = template or NAMED_SETS.get(release, "")
    if "{layer}" not in template:
        known = ", ".join(NAMED_SETS)
        raise ComputeError(
            f"transcoders {spec!r}: give a directory, a Hugging Face repository OWNER/NAME in circuit-tracer's "
            f"layout, a named set ({known}, {PLANTED}) or RELEASE:ID_TEMPLATE with {{layer}}"
        )
    saes = []
    for layer in range(model.cfg.n_layers):
        sae_id = template.format(layer=layer)
        try:
            saes.append(SAE.from_pretrained(release, sae_id, device=device, dtype=dtype))
        except (OSError, ValueError, KeyError) as exc:
            raise ComputeError(f"cannot load transcoder {release}/{sae_id}: {exc}") from exc
    url = ct_layouts.hub_url(lookup.repo_id) if lookup is not None else None
    return replace(SaeLensTranscoders.from_saes(spec, saes, model, url=url), spec=spec)


def _release(release: str):
    """SAELens' directory entry for a release, or None."""
    from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory

    return get_pretrained_saes_directory().get(release)


def _from_hub(repo: str, model: HookedTransformer, device: str, dtype: str) -> TranscoderSet:
    directory, config = ct_layouts.download(repo)
    tcs = ct_layouts.load(directory, config, repo, model, device, DTYPES[dtype], url=ct_layouts.hub_url(repo))
    return replace(tcs, spec=repo)


def _from_directory(path: Path, name: str, model: HookedTransformer, device: str, dtype: str) -> TranscoderSet:
    if (path / ct_layouts.CONFIG).is_file():
        config = ct_layouts.read_config(path)
        return ct_layouts.load(path, config, config.get("scan") or name, model, device, DTYPES[dtype])
    if not any((p / "cfg.json").is_file() for p in path.iterdir()):
        raise ComputeError(
            f"{str(path)!r} holds no saved transcoders (subdirectories with cfg.json, or circuit-tracer's "
            f"{ct_layouts.CONFIG})"
        )
    return SaeLensTranscoders.from_saes(name, saved_saes(path, device, dtype, what="transcoders"), model)


def saved_saes(path: str | Path, device: str = "cpu", dtype: str = "float32", what: str = "SAEs") -> list[SAE]:
    """Every SAE or transcoder saved by SAELens in a subdirectory of `path` (`sae.save_model(dir)`),
    in name order, read back with `SAE.load_from_disk`."""
    path = Path(path)
    if not path.is_dir():
        raise ComputeError(f"{str(path)!r} is not a directory of saved {what}")
    subdirs = sorted(p for p in path.iterdir() if (p / "cfg.json").is_file())
    if not subdirs:
        raise ComputeError(f"{str(path)!r} holds no saved {what} (subdirectories with cfg.json)")
    return [SAE.load_from_disk(p, device=device, dtype=dtype) for p in subdirs]


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


def _check_saes(name: str, by_layer: dict[int, Transcoder], model: HookedTransformer) -> None:
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
        check_hooks(where, layer, tc.cfg.metadata.hook_name, tc.cfg.metadata.hook_name_out, model)
    dtypes = {tc.dtype for tc in by_layer.values()}
    if len(dtypes) != 1 or next(iter(dtypes)) not in DTYPES.values():
        raise ComputeError(f"{name!r}: transcoders must share one dtype, {', '.join(DTYPES)}")
