"""Queries for people: the HTTP server (SPARQL protocol, query page, entity pages), the pool of
sandboxed query workers, and the child process that runs kb query.

May import: kb.build, kb.validate, kb.interop, kb.query, kb.rdf, kb.seeds, kb.core.
"""
