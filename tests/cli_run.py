"""Running the ``maker`` command line in-process, for the tests of its commands."""

from engine.cli import main as cli


def maker(capsys, *args):
    """Run ``maker`` in-process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        status = cli.main([str(arg) for arg in args])
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err
