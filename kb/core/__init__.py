"""The ground floor: where the project's folders are, the error types, progress reporting and
atomic file writes.

May import: the standard library and click/rich only; no other kb package.
"""
