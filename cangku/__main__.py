"""`python -m cangku`: the same as the `cangku` command."""

from cangku.cli import main

main()
