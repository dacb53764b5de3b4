"""What the KB is published as: RDF serialisations, the VoID/DCAT description, the JSON-LD context,
views in other vocabularies, FollowTheMoney entities.

May import: kb.query, kb.rdf, kb.seeds, kb.core.
"""
