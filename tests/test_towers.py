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


@pytest.mark.parametrize(("height", "disks", "thickness"), [(12, 10, 1), (24, 10, 2), (34, 10, 3), (60, 10, 4),
                                                          (60, 20, 2), (30, 20, 1)])
def test_disks_grow_in_height_on_a_tall_pane(height, disks, thickness):
    layout = _layout(80, height, disks)
    assert layout.thickness == thickness and layout.per_row == 1
    assert layout.thickness * disks <= layout.rows


async def test_a_thick_disk_is_drawn_on_its_rows_with_its_number_once():
    from textual.app import App

    from tui.widgets.towers import Towers

    class OneTower(App[None]):
        def compose(self):
            yield Towers()

    app = OneTower()
    async with app.run_test(size=(60, 14)) as pilot:  # 12 rows of disks for 4 disks: 3 rows each
        towers = app.query_one(Towers)
        towers.show(((4, 3, 2, 1), (), ()), None, 4)
        await pilot.pause()
        background = towers.palette.background.bgcolor
        strips = [towers.render_line(y) for y in range(12)]
        filled = [sum(len(seg.text) for seg in strip if seg.style and seg.style.bgcolor not in (None, background))
                  for strip in strips]  # the cells of a disk on each row (only peg 0 has disks)
        for disk, top in zip((4, 3, 2, 1), (9, 6, 3, 0), strict=True):
            body = range(top, top + 3)
            assert len({filled[y] for y in body}) == 1 and filled[top] > 0  # one width on its three rows
            assert [str(disk) in strips[y].text for y in body] == [False, True, False]  # its number, once
        assert filled[0] < filled[3] < filled[6] < filled[9]
