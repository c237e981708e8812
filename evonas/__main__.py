"""``python -m evonas``: the same as the ``evonas`` command."""

from evonas.cli import main

main()
