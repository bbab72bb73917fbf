"""circuit-tracer's on-disk transcoder layouts, read here without circuit-tracer, from a local
directory or a Hugging Face repository. A config.yaml names the layout (`model_kind`), the hooks
(relative to each block) the latents read and write (`feature_input_hook`,
`feature_output_hook`) and optionally a `scan` (the set's name in graph files):

- `cross_layer_transcoder` (the mntss releases; circuit-tracer's CrossLayerTranscoder): per
  layer i, `W_enc_{i}.safetensors` holding W_enc_{i} [d_sae, d_model], b_enc_{i} [d_sae],
  b_dec_{i} [d_model] and, for JumpReLU latents, threshold_{i} [d_sae] (ReLU without one), and
  `W_dec_{i}.safetensors` holding W_dec_{i} [d_sae, n_layers - i, d_model]: what layer i's
  latents write to the MLP outputs of layers i, i+1, ..., n_layers - 1.
- `transcoder_set` (per-layer transcoders, e.g. facebook/crv-8b-instruct-transcoders): per layer
  i, `layer_{i}.safetensors` holding W_enc [d_sae, d_model], W_dec [d_sae, d_model], b_enc,
  b_dec, optionally activation_function.threshold (JumpReLU) and W_skip [d_model, d_model] (the
  skip path x @ W_skip.T). `activation: topk` with `k` keeps each position's k largest
  pre-activations; `activation: relu` forces ReLU.

Activations are circuit-tracer's: JumpReLU is x * (x > threshold), Top-K is x times the mask of
the k largest (no ReLU: a kept pre-activation may be negative), ReLU is max(x, 0).

Memory: encoders and decoders stay on disk. Encoding reads one layer's encoder at a time, and
only the rows of the latents asked for are read from the decoders (safetensors slices of a
memory-mapped file), so a set whose decoders far exceed memory (a cross-layer transcoder's are
n_layers (n_layers + 1) / 2 x d_sae x d_model numbers) computes in about one layer's encoder
plus the active latents' rows. Biases, thresholds and skip matrices are held in memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
import yaml
from safetensors import SafetensorError, safe_open
from transformer_lens import HookedTransformer

from circuitstore.compute.errors import ComputeError
from circuitstore.compute.transcoder_set import TranscoderSet, check_hooks
from circuitstore.errors import one_line

CONFIG = "config.yaml"
KINDS = ("cross_layer_transcoder", "transcoder_set")
# circuit-tracer fixes k for this release, whose config.yaml does not give it.
_KNOWN_K = {"facebook/crv-8b-instruct-transcoders": 128}


@dataclass(frozen=True)
class _File:
    """One safetensors file, read a tensor or some of its rows at a time."""

    path: Path
    device: str
    dtype: torch.dtype

    def shape(self, name: str) -> list[int]:
        with self._open() as f:
            return list(f.get_slice(name).get_shape()) if name in f.keys() else []

    def has(self, name: str) -> bool:
        with self._open() as f:
            return name in f.keys()

    def read(self, name: str, rows: torch.Tensor | None = None) -> torch.Tensor:
        """The tensor `name`, or only its `rows` (in their order, repeats allowed), on the
        file's device in its dtype."""
        with self._open() as f:
            if rows is None:
                return f.get_tensor(name).to(self.dtype)
            # Each row once, in file order (slices of a memory-mapped file), then as asked.
            unique, back = torch.unique(rows.cpu(), return_inverse=True)
            return f.get_slice(name)[unique].to(self.dtype)[back.to(self.device)]

    def _open(self):
        try:
            return safe_open(self.path, framework="pt", device=self.device)
        except (OSError, SafetensorError) as exc:
            raise ComputeError(f"cannot read {self.path}: {exc}") from None


def _activate(pre: torch.Tensor, activation: str, threshold: torch.Tensor | None, k: int | None) -> torch.Tensor:
    if activation == "jumprelu":
        return pre * (pre > threshold)
    if activation == "topk":
        kept = torch.zeros_like(pre).scatter_(-1, pre.topk(k, dim=-1).indices, 1.0)
        return pre * kept
    return F.relu(pre)


@dataclass(frozen=True, eq=False)
class CrossLayerTranscoders(TranscoderSet):
    """A cross-layer transcoder: layer l's latents read layer l's MLP input and write to the MLP
    outputs of layers l..n-1 (circuit-tracer's layout, read from `directory` as needed)."""

    kind: ClassVar[str] = "cross-layer"
    name: str
    hooks_in: tuple[str, ...]
    hooks_out: tuple[str, ...]
    encoder_files: tuple[_File, ...]
    decoder_files: tuple[_File, ...]
    b_enc: torch.Tensor  # [n_layers, d_sae]
    b_dec: torch.Tensor  # [n_layers, d_model]
    thresholds: torch.Tensor | None  # [n_layers, d_sae], JumpReLU
    url: str | None = None
    spec: str | None = None

    @property
    def activation(self) -> str:
        return "relu" if self.thresholds is None else "jumprelu"

    @property
    def dtype(self) -> torch.dtype:
        return self.b_enc.dtype

    def encode(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        pre = F.linear(x.to(self.dtype), self.encoder_files[layer].read(f"W_enc_{layer}"), self.b_enc[layer])
        return _activate(pre, self.activation, None if self.thresholds is None else self.thresholds[layer], None)

    def encoders(self, layer: int, features: torch.Tensor) -> torch.Tensor:
        return self.encoder_files[layer].read(f"W_enc_{layer}", features)

    def decoders(self, layer: int, features: torch.Tensor) -> list[tuple[int, torch.Tensor]]:
        rows = self.decoder_files[layer].read(f"W_dec_{layer}", features)  # [k, n_layers - layer, d_model]
        return [(layer + j, rows[:, j]) for j in range(rows.shape[1])]

    def bias(self, layer: int) -> torch.Tensor:
        return self.b_dec[layer]

    def skip(self, layer: int, x: torch.Tensor) -> torch.Tensor | None:
        return None

    def output(self, layer: int, x: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
        raise ComputeError(
            f"{self.name!r} is a cross-layer transcoder: what it writes at a layer depends on every earlier "
            "layer's latents, which interventions do not follow (they take per-layer transcoders)"
        )


@dataclass(frozen=True, eq=False)
class LayerTranscoders(TranscoderSet):
    """One transcoder per layer in circuit-tracer's `transcoder_set` layout (ReLU, JumpReLU or
    Top-K latents, optionally a skip path), read from its files as needed."""

    kind: ClassVar[str] = "per-layer"
    name: str
    hooks_in: tuple[str, ...]
    hooks_out: tuple[str, ...]
    files: tuple[_File, ...]
    b_enc: tuple[torch.Tensor, ...]
    b_dec: tuple[torch.Tensor, ...]
    thresholds: tuple[torch.Tensor, ...] | None
    skips: tuple[torch.Tensor | None, ...]
    activation: str
    k: int | None = None
    url: str | None = None
    spec: str | None = None

    @property
    def top_k(self) -> int | None:
        return self.k

    @property
    def dtype(self) -> torch.dtype:
        return self.b_enc[0].dtype

    def has_skip(self, layer: int) -> bool:
        return self.skips[layer] is not None

    def encode(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        pre = F.linear(x.to(self.dtype), self.files[layer].read("W_enc"), self.b_enc[layer])
        return _activate(pre, self.activation, None if self.thresholds is None else self.thresholds[layer], self.k)

    def encoders(self, layer: int, features: torch.Tensor) -> torch.Tensor:
        return self.files[layer].read("W_enc", features)

    def decoders(self, layer: int, features: torch.Tensor) -> list[tuple[int, torch.Tensor]]:
        return [(layer, self.files[layer].read("W_dec", features))]

    def bias(self, layer: int) -> torch.Tensor:
        return self.b_dec[layer]

    def skip(self, layer: int, x: torch.Tensor) -> torch.Tensor | None:
        w = self.skips[layer]
        return None if w is None else x.to(self.dtype) @ w.T

    def output(self, layer: int, x: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
        out = acts.to(self.dtype) @ self.files[layer].read("W_dec") + self.b_dec[layer]
        skip = self.skip(layer, x)
        return out if skip is None else out + skip


def read_config(directory: Path) -> dict:
    path = directory / CONFIG
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ComputeError(f"cannot read {path}: {exc}") from None
    if not isinstance(config, dict) or config.get("model_kind") not in KINDS:
        kind = config.get("model_kind") if isinstance(config, dict) else None
        raise ComputeError(f"{path}: model_kind must be one of {', '.join(KINDS)}, got {kind!r}")
    for key in ("feature_input_hook", "feature_output_hook"):
        if not isinstance(config.get(key), str):
            raise ComputeError(f"{path} names no {key} (the hook, within each block, its latents read or write)")
    return config


def load(
    directory: Path,
    config: dict,
    name: str,
    model: HookedTransformer,
    device: str,
    dtype: torch.dtype,
    url: str | None = None,
) -> TranscoderSet:
    """The set in `directory` (its config already read), checked against `model`."""
    n_layers = model.cfg.n_layers
    stem = "W_enc" if config["model_kind"] == "cross_layer_transcoder" else "layer"
    numbered = re.compile(rf"^{stem}_(\d+)\.safetensors$")
    found = sorted(int(m.group(1)) for p in directory.iterdir() if (m := numbered.match(p.name)))
    if found != list(range(n_layers)):
        raise ComputeError(
            f"{str(directory)!r} holds {stem}_<i>.safetensors for layers {found}, the model has {n_layers} layers"
        )
    hooks_in = tuple(f"blocks.{i}.{config['feature_input_hook']}" for i in range(n_layers))
    hooks_out = tuple(f"blocks.{i}.{config['feature_output_hook']}" for i in range(n_layers))
    for i in range(n_layers):
        check_hooks(f"{name!r} layer {i}", i, hooks_in[i], hooks_out[i], model)

    def file(filename: str) -> _File:
        return _File(directory / filename, device, dtype)

    if config["model_kind"] == "cross_layer_transcoder":
        return _cross_layer(name, hooks_in, hooks_out, file, config, model.cfg.d_model, url)
    return _per_layer(name, hooks_in, hooks_out, file, config, model.cfg.d_model, url)


def _cross_layer(name, hooks_in, hooks_out, file, config, d_model, url) -> CrossLayerTranscoders:
    n_layers = len(hooks_in)
    encoders = tuple(file(f"W_enc_{i}.safetensors") for i in range(n_layers))
    decoders = tuple(file(f"W_dec_{i}.safetensors") for i in range(n_layers))
    d_sae = encoders[0].shape("W_enc_0")[:1]
    jump = encoders[0].has("threshold_0")
    for i, (enc, dec) in enumerate(zip(encoders, decoders)):
        d = d_sae + [d_model]
        expected = {f"W_enc_{i}": d, f"b_enc_{i}": d_sae, f"b_dec_{i}": [d_model]}
        if jump:
            expected[f"threshold_{i}"] = d_sae
        got = {key: enc.shape(key) for key in expected}
        got[f"W_dec_{i}"], expected[f"W_dec_{i}"] = dec.shape(f"W_dec_{i}"), [d[0], n_layers - i, d_model]
        _check_shapes(name, i, got, expected)
    b_enc = torch.stack([enc.read(f"b_enc_{i}") for i, enc in enumerate(encoders)])
    b_dec = torch.stack([enc.read(f"b_dec_{i}") for i, enc in enumerate(encoders)])
    thresholds = torch.stack([enc.read(f"threshold_{i}") for i, enc in enumerate(encoders)]) if jump else None
    return CrossLayerTranscoders(name, hooks_in, hooks_out, encoders, decoders, b_enc, b_dec, thresholds, url)


def _per_layer(name, hooks_in, hooks_out, file, config, d_model, url) -> LayerTranscoders:
    n_layers = len(hooks_in)
    files = tuple(file(f"layer_{i}.safetensors") for i in range(n_layers))
    d_sae = files[0].shape("W_enc")[:1]
    choice = config.get("activation")
    k = config.get("k", _KNOWN_K.get(name)) if choice == "topk" else None
    if choice == "topk" and not (isinstance(k, int) and 0 < k <= d_sae[0]):
        raise ComputeError(f"{name!r}: Top-K transcoders need k between 1 and {d_sae[0]} in {CONFIG}, got {k!r}")
    jump = choice not in ("relu", "topk") and files[0].has("activation_function.threshold")
    skip = files[0].has("W_skip")
    for i, f in enumerate(files):
        expected = {"W_enc": d_sae + [d_model], "W_dec": d_sae + [d_model], "b_enc": d_sae, "b_dec": [d_model]}
        if jump:
            expected["activation_function.threshold"] = d_sae
        if skip:
            expected["W_skip"] = [d_model, d_model]
        _check_shapes(name, i, {key: f.shape(key) for key in expected}, expected)
    return LayerTranscoders(
        name,
        hooks_in,
        hooks_out,
        files,
        tuple(f.read("b_enc") for f in files),
        tuple(f.read("b_dec") for f in files),
        tuple(f.read("activation_function.threshold") for f in files) if jump else None,
        tuple(f.read("W_skip") if skip else None for f in files),
        "topk" if choice == "topk" else "jumprelu" if jump else "relu",
        k,
        url,
    )


def _check_shapes(name: str, layer: int, got: dict[str, list[int]], expected: dict[str, list[int]]) -> None:
    for key, shape in expected.items():
        if got[key] != shape:
            found = got[key] or "missing"
            raise ComputeError(f"{name!r} layer {layer}: {key} is {found}, expected {shape} for this model")


def hub_url(repo: str) -> str:
    return f"https://huggingface.co/{repo.partition('@')[0]}"


def download(spec: str) -> tuple[Path, dict]:
    """A Hugging Face repository `OWNER/NAME[/SUBFOLDER][@REVISION]` in circuit-tracer's layout,
    fetched into the Hugging Face cache (huggingface_hub: only the config and the weight files
    its layout reads); returns the local directory and its config."""
    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    path, _, revision = spec.partition("@")
    owner, repo, *sub = path.split("/")
    repo_id, subfolder, revision = f"{owner}/{repo}", "/".join(sub) or None, revision or None
    prefix = f"{subfolder}/" if subfolder else ""

    def fetch(get, *args, **kwargs) -> Path:
        try:
            return Path(get(repo_id, *args, revision=revision, **kwargs))
        except (HfHubHTTPError, OSError, ValueError) as exc:
            raise ComputeError(f"cannot fetch transcoders {spec!r} from Hugging Face: {one_line(exc)}") from None

    config = read_config(fetch(hf_hub_download, CONFIG, subfolder=subfolder).parent)
    if "transcoders" in config:
        raise ComputeError(
            f"{spec!r}: its {CONFIG} lists transcoders in other files or repositories (circuit-tracer's "
            "GemmaScope sets), which are not read here; load those through SAELens"
        )
    pattern = "*.safetensors" if config["model_kind"] == "cross_layer_transcoder" else "layer_*.safetensors"
    return fetch(snapshot_download, allow_patterns=[prefix + pattern, prefix + CONFIG]) / prefix, config
