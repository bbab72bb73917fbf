import os, sys, subprocess
def test_bench(neo4j_driver, neo4j_target):
    env = {**os.environ, **neo4j_target}
    sizes = os.environ.get("BENCH_SIZES", "10,100")
    out = subprocess.run([sys.executable, "bench/queries.py", "--uri", neo4j_target["NEO4J_URI"], "--sizes", sizes,
                          "--reps", os.environ.get("BENCH_REPS", "30"), "--budget", "15", "--keep"] + (["--only", os.environ["BENCH_ONLY"]] if os.environ.get("BENCH_ONLY") else []),
                         env=env, capture_output=True, text=True)
    print(out.stdout[-6000:], out.stderr[-3000:])
    with neo4j_driver.session() as s:
        s.run("MATCH (n) WHERE NOT n:SchemaVersion CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
