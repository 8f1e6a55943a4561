"""The engine is pure Python: importing all of it loads nothing from Textual."""

import subprocess
import sys


def test_the_engine_imports_nothing_from_textual():
    code = (
        "import pkgutil, importlib, sys, engine\n"
        "for module in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(module.name)\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'textual'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
