"""Records to RDF: the mapping of each record to triples with stable IRIs, the stream of them into
Oxigraph and Turtle blocks, terms between rdflib and Oxigraph, the ontology.

May import: kb.seeds, kb.core.
"""
