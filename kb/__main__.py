"""`python -m kb` runs the `kb` command."""

from kb.cli.main import main

main()
