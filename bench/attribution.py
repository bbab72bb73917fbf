"""Attribution cost: seconds per prompt and peak memory, per model, with transcoders of real width.

    .venv/bin/python -m bench.attribution [--device cpu|cuda] [--prompts 3] [--only NAME ...] [--threads N]

Run from the repository root, as a module: the random models and transcoders come from the
tests' own builders (tests/synthetic.py).

Rows for --device cpu (default):
  tiny-gpt2, tiny-gemma3   the tests' two tiny architectures, random weights and transcoders;
  gemma-3-270m             the real model (GGUF package) with random GemmaScope-2-shaped
                           transcoders at the real width: 18 layers x 16384 latents, skip paths.
Rows for --device cuda:
  gemma-3-270m             as above, on the GPU;
  gemma-2-2b-random        gemma-2-2b's shape (26 layers, d_model 2304, 256k vocabulary) with
                           random weights and random GemmaScope-shaped 16k transcoders per layer.
Each row runs in a fresh subprocess, so its memory figures are its own. Timed per prompt:
`compute_graph` (attribution up to max_feature_nodes, then pruning) with default settings; the
table gives the median over prompts, after one untimed warm-up prompt, wall clock and process
CPU time (all threads; on a shared machine the wall clock varies with the load, the CPU time
less). Setup (model and transcoder construction) is timed apart.
Peak RSS is the whole process; "attrib RSS" is the peak while attributing, measured by resetting
the kernel's high-water mark (/proc/self/clear_refs) first. GPU peak is torch's allocator peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from circuitstore.compute import AttributionSettings, SaeLensTranscoders, compute_graph
from circuitstore.compute.gguf import load_gemma3_270m, row_major_unembed
from tests.synthetic import (
    GEMMA_SCOPE_2_270M,
    GEMMA_SCOPE_2B,
    gemma_style,
    gpt2_style,
    random_model,
    random_transcoders,
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
ROWS = {
    "cpu": ["tiny-gpt2", "tiny-gemma3", "gemma-3-270m"],
    "cuda": ["gemma-3-270m", "gemma-2-2b-random"],
}


def setup(name: str, device: str):
    """(model, transcoder shape, prompts) for one row."""
    if name == "gemma-3-270m":
        return load_gemma3_270m(device=device), GEMMA_SCOPE_2_270M, TEXT_PROMPTS
    if name == "gemma-2-2b-random":
        model = random_model("google/gemma-2-2b", device=device, n_ctx=64)
        row_major_unembed(model)  # as load_gguf does: a 256k vocabulary's W_U, not copied per forward pass
        return model, GEMMA_SCOPE_2B, _id_prompts(model, 16)
    model = random_model({"tiny-gpt2": gpt2_style(), "tiny-gemma3": gemma_style()}[name], device=device)
    return model, TINY_TRANSCODERS, _id_prompts(model, 10)


def _id_prompts(model, length: int) -> list[list[int]]:
    """Random token ids for models without a tokenizer, one prompt per text prompt."""
    g = torch.Generator().manual_seed(0)
    return [torch.randint(model.cfg.d_vocab, (length,), generator=g).tolist() for _ in TEXT_PROMPTS]


def run_row(name: str, device: str, n_prompts: int) -> dict:
    """One row, in this process: setup, then compute_graph on each prompt."""
    start = time.perf_counter()
    model, shape, prompts = setup(name, device)
    calibration = prompts[0] if not isinstance(prompts[0], str) else model.to_tokens(prompts[0])[0]
    saes = random_transcoders(model, **shape, tokens=torch.as_tensor(calibration, device=model.cfg.device))
    transcoders = SaeLensTranscoders.from_saes(shape["release"], saes, model)
    _sync(device)
    setup_s = time.perf_counter() - start
    compute_graph(model, transcoders, prompts[0], AttributionSettings())  # warm-up (first call: +15 s on Gemma, CPU)
    rss_reset = _reset_peak_rss()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, cpu_times, sizes = [], [], []
    for prompt in prompts[:n_prompts]:
        t0, c0 = time.perf_counter(), time.process_time()
        graph = compute_graph(model, transcoders, prompt, AttributionSettings())
        _sync(device)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
        sizes.append((len(graph.meta.prompt_tokens), graph.n_nodes, graph.n_edges))
    return {
        "model": name,
        "layers": model.cfg.n_layers,
        "d_sae": saes[0].cfg.d_sae,
        "threads": torch.get_num_threads(),
        "tokens": statistics.median(s[0] for s in sizes),
        "setup_s": setup_s,
        "s_per_prompt": statistics.median(times),
        "cpu_s_per_prompt": statistics.median(cpu_times),
        "nodes": statistics.median(s[1] for s in sizes),
        "edges": statistics.median(s[2] for s in sizes),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "attrib_rss_gb": _peak_rss_gb() if rss_reset else None,
        "gpu_peak_gb": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
    }


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
        ("nodes", "nodes", "{:g}"),
        ("edges", "edges", "{:g}"),
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
    parser.add_argument("--row", help=argparse.SUPPRESS)  # internal: run one row, print JSON
    args = parser.parse_args()
    if args.row:
        if args.threads:
            # On a shared machine fewer threads than cores keeps torch's thread barriers from
            # spinning against other processes, which makes timings swing by 10x.
            torch.set_num_threads(args.threads)
        print(json.dumps(run_row(args.row, args.device, args.prompts)))
        return
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device here")
    rows = []
    for name in args.only or ROWS[args.device]:
        cmd = [sys.executable, "-m", "bench.attribution", "--row", name, "--device", args.device]
        cmd += ["--prompts", str(args.prompts), *(["--threads", str(args.threads)] if args.threads else [])]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if done.returncode != 0:
            print(f"{name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{name}: done", file=sys.stderr)
    print_table(rows)


if __name__ == "__main__":
    main()
