"""Curated seed files: strict and fast YAML readers, the seed schema (data in ontology/seed-
schema.yaml), reported dates, and the checker that turns files into records.

May import: kb.core.
"""
