"""The towers' layout: every disk centred on its pole, widths never shrinking as disks grow."""

import pytest

from tui.widgets.towers import GAP, _layout


@pytest.mark.parametrize("disks", [1, 3, 8, 10, 20])
@pytest.mark.parametrize("width", range(9, 130, 7))
@pytest.mark.parametrize("height", [5, 12, 24, 40])
def test_disks_sit_on_their_pole_with_whole_cells_each_side(disks, width, height):
    layout = _layout(width, height, disks)
    assert layout.column % 2 == 1 and 3 * layout.column + 2 * GAP <= max(width, 3 * 3 + 2 * GAP)
    widths = layout.widths[1:]
    assert all(w % 2 == 1 and w <= layout.column for w in widths)  # (column - w) / 2 cells on each side
    assert all(a <= b for a, b in zip(widths, widths[1:], strict=False))
    if disks > 1 and layout.column >= 5:
        assert widths[0] < widths[-1]  # the smallest disk is narrower than the largest
