"""Supernodes: named groups of a graph's latents that play one role ("Texas", "say a capital"),
made by hand or suggested, and feature families, their counterpart across graphs.

Torch- and Neo4j-free; the store (store/supernodes.py, store/knowledge.py, store/families.py)
reads and writes them.

- suggest.py: `suggest(graph, method, ...)`, the suggestions of one graph, named and scored;
- edge_profile.py: the baseline, Neuronpedia's proposal (similar signed edge profiles,
  complete-link clustering);
- evidence.py: the `evidence` method, the graph's edges weighed with what the store knows
  beyond it (labels, the same Features in other graphs and their groupings there, weights);
- families.py: feature families, Features grouped together across many graphs;
- profiles.py, clustering.py, naming.py: what the methods share (edge profiles, agglomerative
  clustering with its guards, names from labels);
- agreement.py: adjusted Rand index and pairwise precision / recall / F1 against hand-made
  groups (bench/supernodes.py).
"""

# The names a supernode's `method` takes: a person made it, with the graph's file or by hand ...
HAND_MADE = ("imported", "manual")
# ... or a grouping method suggested it (suggest.py) ...
METHODS = ("edge-profile", "evidence")
# ... and the groupings a feature family build reads (store/families.py).
FAMILY_METHODS = ("hand-made", *METHODS)
