"""The store's Cypher, read from the .cypher files beside this module (one statement each)."""

from circuitstore.cypher_files import cypher_reader

cypher = cypher_reader(__package__)
