"""`python -m audit` is the same as the `soc2-audit` console script."""

from audit.cli import main

main()
