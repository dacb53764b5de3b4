"""The kb command: one module per command group, each a thin layer over the packages below.

May import: any kb package.
"""
