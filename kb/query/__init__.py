"""SPARQL query files: their @param headers, binding parameters as RDF terms, running and
formatting; the guard that screens untrusted queries and the sandbox behind it.

May import: kb.rdf, kb.seeds, kb.core.
"""
