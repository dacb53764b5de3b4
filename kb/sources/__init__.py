"""The source documents: checking citations (paragraph, anchor) and hashes against the texts;
the curation tools (registering a text, finding a phrase, showing a text and its coverage).

May import: kb.seeds, kb.core.
"""
