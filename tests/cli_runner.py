"""The ``evonas`` command run in this process, as the CLI tests call it."""

from __future__ import annotations

from evonas.cli import main


def run_cli(args, capsys):
    """Runs ``evonas ARGS``; returns its exit code, standard output and standard error."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
