"""Running the ``maker`` command line in-process, for the tests of its commands."""

from engine.cli import main as cli


def maker(capsys, *args, main=None):
    """Run ``maker`` in-process: (exit status, stdout, stderr). The headless command line unless
    ``main`` gives another (``tui.cli.main``: the whole of it, the screen commands too)."""
    capsys.readouterr()
    try:
        status = (main or cli.main)([str(arg) for arg in args])
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def tui_maker(capsys, *args):
    """The whole ``maker`` command line, in-process, as :func:`maker` runs the headless one."""
    from tui.cli import main

    return maker(capsys, *args, main=main)
