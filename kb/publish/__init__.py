"""Pushing a validated build into a triple store over the Graph Store Protocol.

May import: kb.build and below.
"""
