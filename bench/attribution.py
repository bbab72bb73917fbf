"""Attribution cost: seconds per prompt and peak memory, per model, with transcoders of real width.

    .venv/bin/python -m bench.attribution [--device cpu|cuda] [--prompts 3] [--only NAME ...] [--threads N]
        [--max-feature-nodes N] [--batch-size N] [--circuit-tracer]

Run from the repository root, as a module: the random models and transcoders come from the
tests' own builders (tests/synthetic.py).

Rows for --device cpu (default):
  tiny-gpt2, tiny-gemma3   the tests' two tiny architectures, random weights and transcoders;
  medium-gemma3            the tiny Gemma 3 architecture at 6 layers and d_model 128, 1,024-wide
                           transcoders firing ~20 latents per position, 48-token prompts: a few
                           thousand latents, so that uncapped and capped runs can be compared;
  gemma-3-270m             the real model (GGUF package) with random GemmaScope-2-shaped
                           transcoders at the real width: 18 layers x 16384 latents, skip paths;
  long-256, long-1024, long-2048
                           gemma-3-270m's shape (random weights, no tokenizer) with those
                           transcoders, on random prompts of 256, 1,024 and 2,048 tokens.
  gpt2-small-10, gpt2-small-30
                           GPT-2-small's shape (12 layers, d_model 768, 50k vocabulary; random
                           weights) with random 8k-wide JumpReLU transcoders (L0 10), on random
                           prompts of 10 and 30 tokens (at 30, more latents than the default cap);
  many-prompts             that model and those transcoders on 6 random
                           prompts of 10, 20 and 30 tokens (two of each length): one at a time
                           (compute_graph, the baseline) and then all in one run (compute_graphs:
                           prompts of one length share passes), prompts per second of each; and
                           below the table, per length, the frozen forward pass (once per
                           prompt) and one backward pass of batch_size reading vectors through it
                           (what sharing saves, and what padding a prompt to a longer one would
                           cost).
Rows for --device cuda:
  gemma-3-270m             as above, on the GPU;
  gemma-2-2b-random        gemma-2-2b's shape (26 layers, d_model 2304, 256k vocabulary) with
                           random weights and random GemmaScope-shaped 16k transcoders per layer.
Each row runs in a fresh subprocess, so its memory figures are its own (many-prompts: of both
ways, the peak over both). Timed per prompt:
compute_graph, attribution up to max_feature_nodes then pruning straight from its edge rows
("prune s": from the last batch on), with default settings (or --max-feature-nodes /
--batch-size: a long prompt's latents at the default cap take hours on a few shared cores); the
table gives the median over prompts, after one untimed warm-up prompt (of a token-id prompt, its
first 16 tokens), wall clock and process CPU time (all threads; on a shared machine the wall
clock varies with the load, the CPU time less). Setup (model and transcoder construction) is
timed apart. Peak RSS is the whole process's high-water mark (ru_maxrss, setup included);
"attrib RSS" the peak while computing, measured by resetting the kernel's high-water mark
(/proc/self/clear_refs) after the warm-up. GPU peak is torch's allocator peak.

--circuit-tracer adds, under each row of a model without a tokenizer, the same prompts through
circuit-tracer (v0.5.0 from $CIRCUIT_TRACER_SRC, in the environment tests/circuit_tracer/env.py
builds) on the same weights, saved to disk and read by it: its `attribute` and `prune_graph`
timed alike (the same warm-up prompt, then the median), the baseline of the row above. Its prompts
start with token 0, which it takes as BOS and so prepends nothing: both attribute the same ids.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformer_lens import HookedTransformer

from circuitstore.compute import (
    AttributionSettings,
    Replacement,
    SaeLensTranscoders,
    compute_graph,
    compute_graphs,
    save_model,
)
from circuitstore.compute.gguf import load_gemma3_270m, row_major_unembed
from circuitstore.compute.tokenizer import SPECIALS, word_tokenizer
from tests.circuit_tracer.env import python_for
from tests.synthetic import (
    GEMMA_SCOPE_2_270M,
    GEMMA_SCOPE_2B,
    gemma_style,
    gpt2_style,
    random_model,
    random_transcoders,
    save_transcoders,
)

REPO = Path(__file__).resolve().parents[1]

TEXT_PROMPTS = [
    "The capital of France is",
    "Fact: Michael Jordan plays the sport of",
    "The opposite of small is",
    "When Mary and John went to the store, John gave a drink to",
    "1, 1, 2, 3, 5, 8,",
]
# Shaped like the tests' transcoders, sparser.
TINY_TRANSCODERS = {"release": "tiny", "kind": "jumprelu_skip", "hook_in": "ln2.hook_normalized", "d_sae": 48, "l0": 8}
MEDIUM_TRANSCODERS = {**TINY_TRANSCODERS, "release": "medium", "d_sae": 1024, "l0": 20}
MEDIUM_TOKENS = 48
LONG = {"long-256": 256, "long-1024": 1024, "long-2048": 2048}
GPT2 = {"gpt2-small-10": 10, "gpt2-small-30": 30}
MANY = "many-prompts"
MANY_LENGTHS = (10, 10, 20, 20, 30, 30)
GPT2_TRANSCODERS = {
    "release": "random-8k",
    "kind": "jumprelu",
    "hook_in": "ln2.hook_normalized",
    "d_sae": 8192,
    "l0": 10,
}
WARM_UP_TOKENS = 16  # of a prompt of token ids
ROWS = {
    "cpu": ["tiny-gpt2", "tiny-gemma3", "medium-gemma3", "gemma-3-270m", *LONG, *GPT2, MANY],
    "cuda": ["gemma-3-270m", "gemma-2-2b-random", *LONG, MANY],
}


def setup(name: str, device: str):
    """(model, transcoder shape, prompts) for one row."""
    if name == "gemma-3-270m":
        return load_gemma3_270m(device=device), GEMMA_SCOPE_2_270M, TEXT_PROMPTS
    if name in LONG:
        model = random_model("google/gemma-3-270m", device=device, n_ctx=LONG[name])
        row_major_unembed(model)
        return model, GEMMA_SCOPE_2_270M, _id_prompts(model, LONG[name])
    if name == "gemma-2-2b-random":
        model = random_model("google/gemma-2-2b", device=device, n_ctx=64)
        row_major_unembed(model)  # as load_gguf does: a 256k vocabulary's W_U, not copied per forward pass
        return model, GEMMA_SCOPE_2B, _id_prompts(model, 16)
    if name in GPT2:
        model = gpt2_small(device, GPT2[name])
        return model, GPT2_TRANSCODERS, _id_prompts(model, GPT2[name])
    if name == "medium-gemma3":
        config = dataclasses.replace(gemma_style(n_layers=6, d_model=128), n_ctx=MEDIUM_TOKENS)
        model = random_model(config, device=device)
        return model, MEDIUM_TRANSCODERS, _id_prompts(model, MEDIUM_TOKENS)
    model = random_model({"tiny-gpt2": gpt2_style(), "tiny-gemma3": gemma_style()}[name], device=device)
    return model, TINY_TRANSCODERS, _id_prompts(model, 10)


def gpt2_small(device: str, n_ctx: int) -> HookedTransformer:
    """A random model of GPT-2-small's shape."""
    cfg = gpt2_style(n_layers=12, d_model=768)
    cfg = dataclasses.replace(cfg, model_name="gpt2-small-shape", d_head=64, n_heads=12, d_vocab=50257, n_ctx=n_ctx)
    return random_model(cfg, device=device)


def _id_prompts(model, length: int) -> list[list[int]]:
    """Random token ids for models without a tokenizer, one prompt per text prompt."""
    g = torch.Generator().manual_seed(0)
    # Token 0 first: circuit-tracer reads it as BOS (see --circuit-tracer) and prepends nothing.
    return [[0, *torch.randint(1, model.cfg.d_vocab, (length - 1,), generator=g).tolist()] for _ in TEXT_PROMPTS]


def run_row(name: str, device: str, n_prompts: int, settings: AttributionSettings, ct_dir: Path | None) -> dict:
    """One row, in this process: setup, then compute_graph on each prompt; with `ct_dir`, the
    weights and prompts are also saved there for circuit-tracer."""
    start = time.perf_counter()
    model, shape, prompts = setup(name, device)
    calibration = prompts[0] if not isinstance(prompts[0], str) else model.to_tokens(prompts[0])[0]
    saes = random_transcoders(model, **shape, tokens=torch.as_tensor(calibration, device=model.cfg.device))
    transcoders = SaeLensTranscoders.from_saes(shape["release"], saes, model)
    _sync(device)
    setup_s = time.perf_counter() - start
    # The warm-up (first call: +15 s on Gemma, CPU) needs no long prompt.
    warm_up = prompts[0] if isinstance(prompts[0], str) else prompts[0][:WARM_UP_TOKENS]
    if ct_dir is not None:
        _save_for_circuit_tracer(ct_dir, model, saes, [warm_up, *prompts[:n_prompts]], settings)
    compute_graph(model, transcoders, warm_up, settings)
    rss_reset = _reset_peak_rss()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, cpu_times, prune_times, sizes = [], [], [], []
    last_batch = [0.0]  # when attribution's last batch was done: pruning follows

    def progress(done: int, total: int) -> None:
        _sync(device)
        last_batch[0] = time.perf_counter()

    for prompt in prompts[:n_prompts]:
        t0, c0 = time.perf_counter(), time.process_time()
        graph = compute_graph(model, transcoders, prompt, settings, progress)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
        prune_times.append(time.perf_counter() - last_batch[0])
        active = graph.meta.generation["n_active_latents"]
        sizes.append((len(graph.meta.prompt_tokens), active, graph.n_nodes, graph.n_edges))
        del graph
    return {
        "model": name,
        "layers": model.cfg.n_layers,
        "d_sae": saes[0].cfg.d_sae,
        "threads": torch.get_num_threads(),
        "tokens": statistics.median(s[0] for s in sizes),
        "setup_s": setup_s,
        "s_per_prompt": statistics.median(times),
        "cpu_s_per_prompt": statistics.median(cpu_times),
        "prune_s": statistics.median(prune_times),
        "active_latents": statistics.median(s[1] for s in sizes),
        "nodes": statistics.median(s[2] for s in sizes),
        "edges": statistics.median(s[3] for s in sizes),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "attrib_rss_gb": _peak_rss_gb() if rss_reset else None,
        "gpu_peak_gb": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
    }


def run_many_row(device: str, settings: AttributionSettings) -> list[dict]:
    """The many-prompts rows, in this process: the prompts one at a time, then in one run."""
    start = time.perf_counter()
    model = gpt2_small(device, max(MANY_LENGTHS))
    cfg = model.cfg
    g = torch.Generator().manual_seed(0)
    prompts = [[0, *torch.randint(1, cfg.d_vocab, (n - 1,), generator=g).tolist()] for n in MANY_LENGTHS]
    saes = random_transcoders(model, **GPT2_TRANSCODERS, tokens=torch.tensor(prompts[-1], device=device))
    transcoders = SaeLensTranscoders.from_saes(GPT2_TRANSCODERS["release"], saes, model)
    setup_s = time.perf_counter() - start
    compute_graph(model, transcoders, prompts[0], settings)  # warm-up
    rss_reset = _reset_peak_rss()
    rows, graphs = [], []
    for name, run in (
        ("  one at a time", lambda: [compute_graph(model, transcoders, p, settings) for p in prompts]),
        ("  batched", lambda: list(compute_graphs(model, transcoders, prompts, settings))),
    ):
        t0, c0 = time.perf_counter(), time.process_time()
        graphs.append(run())
        _sync(device)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append(
            {
                "model": f"{MANY} {name.strip()}",
                "layers": cfg.n_layers,
                "d_sae": GPT2_TRANSCODERS["d_sae"],
                "threads": torch.get_num_threads(),
                "tokens": statistics.median(MANY_LENGTHS),
                "setup_s": setup_s,
                "s_per_prompt": wall / len(prompts),
                "cpu_s_per_prompt": cpu / len(prompts),
                "prompts_per_s": len(prompts) / wall,
                "nodes": statistics.median(gr.n_nodes for gr in graphs[-1]),
                "edges": statistics.median(gr.n_edges for gr in graphs[-1]),
            }
        )
    # The same graphs both ways (tests/test_compute_batched.py checks them closely).
    assert [(a.meta.id, a.n_edges) for a in graphs[0]] == [(b.meta.id, b.n_edges) for b in graphs[1]]
    rows[1]["speedup"] = rows[1]["prompts_per_s"] / rows[0]["prompts_per_s"]
    # What padding would cost, and what sharing saves: a frozen run at each length, and one
    # backward pass of batch_size reading vectors through it (the better of three).
    rows[1]["passes"] = {}
    for n in sorted(set(MANY_LENGTHS)):
        rep = Replacement(model, transcoders, torch.tensor(prompts[MANY_LENGTHS.index(n)], device=device), settings)
        t0 = time.perf_counter()
        frozen = rep.frozen(settings.batch_size)
        _sync(device)
        forward_s = time.perf_counter() - t0
        grad = torch.ones(frozen.shape, dtype=frozen.final.dtype, device=device)
        backward_s = min(_timed(device, frozen.backward, grad, {}) for _ in range(3))
        rows[1]["passes"][n] = (forward_s, backward_s)
        del frozen, grad
    for row in rows:
        row["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        row["attrib_rss_gb"] = _peak_rss_gb() if rss_reset else None
    return rows


def _save_for_circuit_tracer(directory: Path, model, saes, prompts: list, settings: AttributionSettings) -> None:
    """The model (with a word tokenizer whose token 0 is BOS), transcoders and one run_ct.py job
    per prompt, the first a warm-up."""
    save_model(model, directory / "model")
    word_tokenizer([f"w{i}" for i in range(model.cfg.d_vocab - len(SPECIALS))], directory / "model")
    save_transcoders(saes, directory / "transcoders")
    keys = ("max_n_logits", "desired_logit_prob", "batch_size", "max_feature_nodes", "update_interval")
    jobs = [
        {
            "name": f"prompt-{i}",
            "model": str(directory / "model"),
            "transcoders": str(directory / "transcoders"),
            "tokens": list(prompt),
            "dtype": "float32",
            "settings": {k: getattr(settings, k) for k in keys},
            "thresholds": [[settings.node_threshold, settings.edge_threshold]],
            "json": None,
        }
        for i, prompt in enumerate(prompts)
    ]
    (directory / "jobs.json").write_text(json.dumps(jobs))


def circuit_tracer_row(row: dict, directory: Path) -> dict:
    """circuit-tracer on what `run_row` saved in `directory`, timed per prompt after the first."""
    python = python_for(Path(os.environ["CIRCUIT_TRACER_SRC"]))
    run_ct = REPO / "tests" / "circuit_tracer" / "run_ct.py"
    jobs = json.loads((directory / "jobs.json").read_text())
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [str(python), str(run_ct), str(directory / "jobs.json"), str(directory / "out")]
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    timings = [json.loads((directory / "out" / job["name"] / "timing.json").read_text()) for job in jobs[1:]]
    return {
        **{k: row[k] for k in ("layers", "d_sae", "tokens")},
        "model": "  circuit-tracer",
        "threads": 1,
        "s_per_prompt": statistics.median(t["attribute_s"] + t["prune_s"] for t in timings),
        "cpu_s_per_prompt": statistics.median(t["cpu_s"] for t in timings),
        "prune_s": statistics.median(t["prune_s"] for t in timings),
        "peak_rss_gb": max(t["peak_rss_gb"] for t in timings),
    }


def _timed(device: str, fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    _sync(device)
    return time.perf_counter() - t0


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # "5": reset the peak RSS (VmHWM) only
        return True
    except OSError:
        return False


def _peak_rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    raise RuntimeError("no VmHWM in /proc/self/status")


def print_table(rows: list[dict]) -> None:
    columns = [
        ("model", "model", "{}"),
        ("layers", "layers", "{}"),
        ("d_sae", "d_sae", "{}"),
        ("threads", "threads", "{}"),
        ("tokens", "tokens", "{:g}"),
        ("setup_s", "setup s", "{:.1f}"),
        ("s_per_prompt", "s/prompt", "{:.2f}"),
        ("cpu_s_per_prompt", "CPU s/prompt", "{:.2f}"),
        ("prune_s", "prune s", "{:.2f}"),
        ("active_latents", "active latents", "{:g}"),
        ("nodes", "nodes", "{:g}"),
        ("edges", "edges", "{:g}"),
        ("prompts_per_s", "prompts/s", "{:.3f}"),
        ("speedup", "speedup", "{:.2f}x"),
        ("peak_rss_gb", "peak RSS GB", "{:.2f}"),
        ("attrib_rss_gb", "attrib RSS GB", "{:.2f}"),
        ("gpu_peak_gb", "GPU peak GB", "{:.2f}"),
    ]
    cells = [[h for _, h, _ in columns]]
    cells += [["-" if r.get(k) is None else fmt.format(r[k]) for k, _, fmt in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for i, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=sorted(ROWS), default="cpu")
    parser.add_argument("--prompts", type=int, default=3, help=f"prompts per row (at most {len(TEXT_PROMPTS)})")
    parser.add_argument("--only", nargs="*", help="rows to run (default: all for the device)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--max-feature-nodes", type=int, help="cap on latents (default: the settings' default)")
    parser.add_argument("--batch-size", type=int, help="targets per backward pass (default: the settings' default)")
    parser.add_argument("--circuit-tracer", action="store_true", help="circuit-tracer rows too")
    parser.add_argument("--row", help=argparse.SUPPRESS)  # internal: run one row, print JSON
    parser.add_argument("--ct-dir", type=Path, help=argparse.SUPPRESS)  # internal: save for circuit-tracer here
    args = parser.parse_args()
    overrides = {"max_feature_nodes": args.max_feature_nodes, "batch_size": args.batch_size}
    settings = AttributionSettings(**{k: v for k, v in overrides.items() if v is not None})
    if args.row:
        if args.threads:
            # On a shared machine fewer threads than cores keeps torch's thread barriers from
            # spinning against other processes, which makes timings swing by 10x.
            torch.set_num_threads(args.threads)
        if args.row == MANY:
            print(json.dumps(run_many_row(args.device, settings)))
        else:
            print(json.dumps([run_row(args.row, args.device, args.prompts, settings, args.ct_dir)]))
        return
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device here")
    rows = []
    for name in args.only or ROWS[args.device]:
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            ct_dir = Path(tmp) if args.circuit_tracer and name not in ("gemma-3-270m", MANY) else None
            cmd = [sys.executable, "-m", "bench.attribution", "--row", name, "--device", args.device]
            cmd += ["--prompts", str(args.prompts), *(["--threads", str(args.threads)] if args.threads else [])]
            cmd += [f"--{k.replace('_', '-')}={v}" for k, v in overrides.items() if v is not None]
            cmd += ["--ct-dir", str(ct_dir)] if ct_dir else []
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            if done.returncode != 0:
                print(f"{name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            rows += json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{name}: done", file=sys.stderr)
            if ct_dir:
                rows.append(circuit_tracer_row(rows[-1], ct_dir))
                print(f"{name}: circuit-tracer done", file=sys.stderr)
    print_table(rows)
    for row in rows:
        for n, (forward_s, backward_s) in row.get("passes", {}).items():
            print(
                f"{row['model']}: {n} tokens: frozen forward pass {forward_s:.2f} s, "
                f"one backward pass of {settings.batch_size} reading vectors {backward_s:.3f} s"
            )


if __name__ == "__main__":
    main()
