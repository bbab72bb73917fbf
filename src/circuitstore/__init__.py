"""circuitstore: keep, query and compare attribution graphs in Neo4j."""

from importlib.metadata import version as _v

__version__ = _v("circuitstore")
