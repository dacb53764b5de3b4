"""The gate: the shapes compiled to whole-graph SPARQL, pySHACL on chunks for the rest, which rules
an edit can reach, and the report traced to seed file and line.

May import: kb.query, kb.rdf, kb.seeds, kb.core.
"""
