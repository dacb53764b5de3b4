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
CONTEXT = ONTOLOGY_DIR / "context.jsonld"
DATASET = ONTOLOGY_DIR / "dataset.yaml"
FTM_MAPPING = ONTOLOGY_DIR / "ftm-mapping.yaml"
VIEWS = QUERIES / "views"
VIEW_SHAPES = SHAPES_DIR / "views"
