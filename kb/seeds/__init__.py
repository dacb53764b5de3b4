"""Curated seed files: strict and fast YAML readers, the seed schema (data in ontology/seed-
schema.yaml), reported dates, the checker that turns files into records, and what is generated from
the schema: record skeletons (`kb new`) and a JSON Schema for editors.

May import: kb.core.
"""
