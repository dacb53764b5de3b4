"""`python -m kb` runs the `kb` command."""

from .cli import main

main()
