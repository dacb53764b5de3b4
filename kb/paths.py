"""Where the project's files live. Everything else finds them through here."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
ONTOLOGY_DIR = ROOT / "ontology"
ONTOLOGY = ONTOLOGY_DIR / "kb.ttl"
SEED_SCHEMA = ONTOLOGY_DIR / "seed-schema.yaml"
SHAPES_DIR = ROOT / "shapes"
QUERIES = ROOT / "queries"
CHECKS = QUERIES / "checks"
DIST = ROOT / "dist"
