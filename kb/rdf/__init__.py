"""Records to RDF: the mapping of each record to triples with stable IRIs, the stream of them into
Oxigraph and Turtle blocks, terms between rdflib and Oxigraph, the ontology.

May import: kb.seeds, kb.core.
"""

from kb.rdf.decimals import write_decimals_typed

write_decimals_typed()
