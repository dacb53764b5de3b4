"""kb: a knowledge base of back-channel contacts, posts and sanctions, curated as linked data."""

__version__ = "0.1.0"
