"""kb bench: synthetic seeds with known violations, the naive reference pipeline (rdflib graph,
whole-graph pySHACL, rdflib's Turtle) as baseline and oracle, timing.

May import: kb.serve, kb.build and below (not kb.cli).
"""
