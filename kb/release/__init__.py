"""Versioned releases of the KB: releases/VERSION/ (kb.ttl, void.ttl, CHANGELOG.md and the
patch from the previous release), the changelog between two versions, the patches composed for
`kb publish --since`, and `kb diff`'s inputs (releases, files, git revisions).

May import: kb.build (a release is a validated build), kb.interop (VoID, RDF Patch),
kb.validate, kb.sources, kb.query, kb.rdf, kb.seeds, kb.core.
"""
