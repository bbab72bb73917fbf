"""circuitstore's tests. A package, so every helper module is imported one way (`tests.x`) and
loads once; pytest puts the repository root on sys.path (pyproject.toml)."""
