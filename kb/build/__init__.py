"""The pipeline behind kb build: read, map, validate, write dist/ as one set; the build cache that
redoes only what an edit touched; whether dist/ is current.

May import: kb.validate, kb.interop, kb.query, kb.rdf, kb.seeds, kb.core.
"""
