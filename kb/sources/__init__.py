"""The source documents: checking citations (paragraph, anchor) and hashes against the texts.

May import: kb.seeds, kb.core.
"""
