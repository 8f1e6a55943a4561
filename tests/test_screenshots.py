"""The README's pictures are the app as it is now: the script makes them again, byte for byte."""

import asyncio
import importlib.util

import pytest

from tests.tui_helpers import ROOT

spec = importlib.util.spec_from_file_location("screenshots", ROOT / "docs" / "screenshots.py")
screenshots = importlib.util.module_from_spec(spec)
spec.loader.exec_module(screenshots)


@pytest.mark.parametrize("name", screenshots.PICTURES)
def test_the_readme_picture_is_what_the_app_draws_now(name, tmp_path):
    made = asyncio.run(screenshots.take(name, tmp_path))
    shipped = ROOT / "docs" / "images" / f"{name}.svg"
    assert f"docs/images/{name}.svg" in (ROOT / "README.md").read_text()
    assert made.read_text() == shipped.read_text(), f"run: python docs/screenshots.py {name}"
