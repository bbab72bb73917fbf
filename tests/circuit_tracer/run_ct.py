"""circuit-tracer (TransformerLens backend) on local weights: runs INSIDE the environment env.py
builds and imports nothing of circuitstore. Everything it reports is computed by circuit-
tracer's own functions; it only converts the weights into circuit-tracer's classes.

    python run_ct.py JOBS.json OUT_DIR

JOBS.json is a list of jobs, each
    {"name", "model": dir, "transcoders": dir, "tokens": [ids], "dtype": "float32" | "float64",
     "settings": {max_n_logits, desired_logit_prob, batch_size, max_feature_nodes, update_interval},
     "thresholds": [[node, edge], ...], "json": null | {"slug", "scan", "node_threshold", "edge_threshold"},
     "targets": absent | {"tokens": [str, ...]} | {"custom": [{"label", "prob", "vec": [...] | "logit_diff": [a, b]}]}}
- model: circuitstore's local format (config.json = HookedTransformerConfig fields as
  TransformerLens 3.9 writes them, model.safetensors, Hugging Face tokenizer files). Fields this
  TransformerLens (3.2) lacks are dropped when they hold 3.9's default, else refused; buffers
  are not loaded (they derive from the config). transformers 5 names its tokenizer class
  TokenizersBackend, unknown to 4.x: a copy of the files names PreTrainedTokenizerFast.
- transcoders: one SAELens save per layer (cfg.json, sae_weights.safetensors), converted to
  SingleLayerTranscoder: W_enc transposed (SAELens [d_in, d_sae], circuit-tracer [d_sae,
  d_model]), W_dec, b_enc, b_dec and W_skip as they are (both compute x @ W_skip.T), a
  threshold as JumpReLU(threshold, bandwidth) (circuit-tracer's x * (x > t) equals SAELens'
  relu(x) * (x > t) for t >= 0, refused otherwise; the bandwidth only matters in training).
- transcoders in circuit-tracer's own layouts (a config.yaml naming model_kind): read by its own
  loaders, load_clt (cross_layer_transcoder) and load_transcoder_set (transcoder_set, with the
  config's activation and k), its decoders lazily, as its hub loading does.
- targets: circuit-tracer's AttributionTargets, token strings or CustomTargets (a logit
  difference's vector from the model's own W_U).
- dtype float64 also makes float64 torch's default dtype, so that circuit-tracer's edge matrix
  and pruning are float64 too (they are created in the default dtype).

OUT_DIR/<name>/ receives: adjacency.npy ([n, n], row = target, column = source; nodes:
selected features, errors by layer then position, tokens, logits), active_features.npy
([n_active, 3] layer, position, feature), activation_values.npy, selected_features.npy,
input_tokens.npy, logit_probabilities.npy, logit_tokens.json, node_influence.npy
(compute_node_influence), prune_<i>_nodes.npy / _edges.npy / _cumulative.npy (prune_graph at
thresholds[i]), scores.json (compute_graph_scores), timing.json (seconds of `attribute` and of
prune_graph at thresholds[0], CPU seconds of both, the process's peak RSS so far) and, if asked,
graph.json (create_graph_files).
"""

from __future__ import annotations

import dataclasses
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

DTYPES = {"float32": torch.float32, "float64": torch.float64}
# HookedTransformerConfig fields of TransformerLens 3.9 that 3.2 lacks, with their 3.9 defaults.
TL39_ONLY = {
    "clip_qkv": None,
    "use_logn_attn": False,
    "train_seq_length": None,
    "use_dynamic_ntk_rope": False,
    "quantization_method": None,
    "yarn_truncate": True,
    "yarn_global_attn_only": False,
    "use_attention_sinks": False,
}


def model_config(model_dir: Path, dtype: torch.dtype, tokenizer_dir: Path):
    from transformer_lens import HookedTransformerConfig

    known = {f.name for f in dataclasses.fields(HookedTransformerConfig) if f.init}
    cfg = {}
    for key, value in json.loads((model_dir / "config.json").read_text()).items():
        if key in known:
            cfg[key] = value
        elif TL39_ONLY.get(key, object()) != value:
            sys.exit(f"{model_dir}: config field {key}={value!r} has no equivalent in this TransformerLens")
    if cfg.get("model_name", "custom") == "custom":
        cfg["model_name"] = model_dir.name
    # circuit-tracer reads the tokenizer by name (HookedTransformer and create_graph_files).
    cfg.update(dtype=dtype, device="cpu", tokenizer_name=str(tokenizer_dir))
    return HookedTransformerConfig(**cfg)


def portable_tokenizer(model_dir: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (model_dir / name).is_file():
            shutil.copy(model_dir / name, directory / name)
    config_file = directory / "tokenizer_config.json"
    if not config_file.is_file():
        sys.exit(f"{model_dir}: circuit-tracer needs a tokenizer (ensure_tokenized, create_graph_files)")
    config = json.loads(config_file.read_text())
    if config.get("tokenizer_class") == "TokenizersBackend":
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        config_file.write_text(json.dumps(config, indent=1))
    return directory


def ct_layout(tc_dir: Path, dtype: torch.dtype):
    import yaml
    from circuit_tracer.transcoder.cross_layer_transcoder import load_clt
    from circuit_tracer.transcoder.single_layer_transcoder import load_transcoder_set

    config = yaml.safe_load((tc_dir / "config.yaml").read_text())
    hooks = {"feature_input_hook": config["feature_input_hook"], "feature_output_hook": config["feature_output_hook"]}
    cpu = torch.device("cpu")
    if config["model_kind"] == "cross_layer_transcoder":
        return load_clt(str(tc_dir), **hooks, scan=str(tc_dir), device=cpu, dtype=dtype, lazy_decoder=True)
    paths = {int(p.stem.split("_")[1]): str(p) for p in tc_dir.glob("layer_*.safetensors")}
    return load_transcoder_set(
        paths, str(tc_dir), **hooks, device=cpu, dtype=dtype, activation=config.get("activation"), k=config.get("k")
    )


def targets(spec: dict | None, model):
    from circuit_tracer.attribution.targets import CustomTarget

    if spec is None:
        return None
    if "tokens" in spec:
        return list(spec["tokens"])
    w_u = model.unembed.W_U.detach()
    out = []
    for t in spec["custom"]:
        a, b = t.get("logit_diff", (None, None))
        vec = w_u[:, a] - w_u[:, b] if a is not None else torch.tensor(t["vec"], dtype=w_u.dtype)
        out.append(CustomTarget(token_str=t["label"], prob=float(t["prob"]), vec=vec))
    return out


def transcoder_set(tc_dir: Path, n_layers: int, dtype: torch.dtype):
    from circuit_tracer.transcoder.activation_functions import JumpReLU

    if (tc_dir / "config.yaml").is_file():
        return ct_layout(tc_dir, dtype)
    from circuit_tracer.transcoder.single_layer_transcoder import SingleLayerTranscoder, TranscoderSet

    by_layer, hooks = {}, set()
    for sub in sorted(p for p in tc_dir.iterdir() if (p / "cfg.json").is_file()):
        cfg = json.loads((sub / "cfg.json").read_text())
        hook_in, hook_out = cfg["metadata"]["hook_name"], cfg["metadata"]["hook_name_out"]
        if cfg.get("apply_b_dec_to_input") or cfg.get("normalize_activations", "none") != "none":
            sys.exit(f"{sub}: b_dec on the input or normalised activations have no circuit-tracer equivalent")
        layer = int(hook_out.split(".")[1])
        hooks.add((hook_in.split(".", 2)[2], hook_out.split(".", 2)[2]))
        state = load_file(str(sub / "sae_weights.safetensors"))
        d_in, d_sae = state["W_enc"].shape
        if "threshold" in state:
            if (state["threshold"] < 0).any():
                sys.exit(f"{sub}: negative thresholds: SAELens' JumpReLU differs from circuit-tracer's there")
            activation = JumpReLU(state["threshold"].to(dtype), 0.1)
        else:
            activation = F.relu
        tc = SingleLayerTranscoder(
            d_in, d_sae, activation, layer, skip_connection="W_skip" in state, device=torch.device("cpu"), dtype=dtype
        )
        with torch.no_grad():
            tc.W_enc.copy_(state["W_enc"].T)
            for name in ("W_dec", "b_enc", "b_dec", *(["W_skip"] if "W_skip" in state else [])):
                getattr(tc, name).copy_(state[name])
        by_layer[layer] = tc
    if len(hooks) != 1 or sorted(by_layer) != list(range(n_layers)):
        sys.exit(f"{tc_dir}: circuit-tracer needs one transcoder per layer and one hook pair, got {hooks}")
    (hook_in, hook_out), *_ = hooks
    return TranscoderSet(by_layer, feature_input_hook=hook_in, feature_output_hook=hook_out, scan=str(tc_dir))


def replacement_model(cfg, state: dict, transcoders):
    """from_config builds the wrappers (the MLP kept as `old_mlp`, the unembedding as
    `old_unembed`); the state dict's parameters are copied in under those names."""
    from circuit_tracer.replacement_model.replacement_model_transformerlens import TransformerLensReplacementModel

    model = TransformerLensReplacementModel.from_config(cfg, transcoders)
    params = dict(model.named_parameters())
    renamed = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "blocks" and len(parts) > 2 and parts[2] == "mlp":
            key = ".".join([*parts[:3], "old_mlp", *parts[3:]])
        elif parts[0] == "unembed":
            key = ".".join(["unembed", "old_unembed", *parts[1:]])
        renamed[key] = value
    lacking = [k for k in params if k not in renamed and not k.startswith("transcoders.")]
    if lacking:
        sys.exit(f"the state dict lacks {lacking[:5]}")
    with torch.no_grad():
        for key, value in renamed.items():
            if key in params:
                params[key].copy_(value)
    return model.eval()


def run(job: dict, out: Path) -> None:
    from circuit_tracer.attribution.attribute import attribute
    from circuit_tracer.graph import compute_graph_scores, compute_node_influence, prune_graph
    from circuit_tracer.utils.create_graph_files import create_graph_files

    out.mkdir(parents=True, exist_ok=True)
    dtype = DTYPES[job["dtype"]]
    torch.set_default_dtype(dtype)
    model_dir, tc_dir = Path(job["model"]), Path(job["transcoders"])
    cfg = model_config(model_dir, dtype, portable_tokenizer(model_dir, out / "tokenizer"))
    transcoders = transcoder_set(tc_dir, cfg.n_layers, dtype)
    model = replacement_model(cfg, load_file(str(model_dir / "model.safetensors")), transcoders)

    start = time.perf_counter(), time.process_time()
    graph = attribute(job["tokens"], model, attribution_targets=targets(job.get("targets"), model), **job["settings"])
    attributed = time.perf_counter(), time.process_time()
    prune_graph(graph, *job["thresholds"][0])
    pruned = time.perf_counter(), time.process_time()
    timing = {
        "attribute_s": attributed[0] - start[0],
        "prune_s": pruned[0] - attributed[0],
        "cpu_s": pruned[1] - start[1],
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }
    (out / "timing.json").write_text(json.dumps(timing))
    arrays = {
        "adjacency": graph.adjacency_matrix,
        "active_features": graph.active_features,
        "activation_values": graph.activation_values,
        "selected_features": graph.selected_features,
        "input_tokens": graph.input_tokens,
        "logit_probabilities": graph.logit_probabilities,
    }
    n_logits = len(graph.logit_targets)
    weights = torch.zeros(graph.adjacency_matrix.shape[0])
    weights[-n_logits:] = graph.logit_probabilities
    arrays["node_influence"] = compute_node_influence(graph.adjacency_matrix, weights)
    for i, (node_threshold, edge_threshold) in enumerate(job["thresholds"]):
        nodes, edges, cumulative = prune_graph(graph, node_threshold, edge_threshold)
        arrays |= {f"prune_{i}_nodes": nodes, f"prune_{i}_edges": edges, f"prune_{i}_cumulative": cumulative}
    for name, value in arrays.items():
        np.save(out / f"{name}.npy", value.detach().cpu().numpy())
    (out / "logit_tokens.json").write_text(json.dumps([int(t.vocab_idx) for t in graph.logit_targets]))
    replacement, completeness = compute_graph_scores(graph)
    (out / "scores.json").write_text(json.dumps({"replacement_score": replacement, "completeness_score": completeness}))
    if job["json"]:
        create_graph_files(graph, output_path=str(out), **job["json"])


def main() -> None:
    jobs_file, out = Path(sys.argv[1]), Path(sys.argv[2])
    torch.set_num_threads(1)
    for job in json.loads(jobs_file.read_text()):
        run(job, out / job["name"])
        print(job["name"], flush=True)


if __name__ == "__main__":
    main()
