"""History windows are cut from canonical blocks: the same blocks for every window inside them."""

from datetime import UTC, datetime

from market_svc.domain import history
from market_svc.domain.history_blocks import BLOCK_MS, EARLIEST, Block, covering

HOUR, DAY, WEEK = history.HOUR, history.DAY, history.WEEK


def ms(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def blocks_for(start: int, end: int, interval: str, granularity: str) -> list[Block]:
    times = history.grid(start, end, interval)
    return covering(history.previous(times[0], interval), times[-1], granularity)


def test_every_window_inside_a_block_is_cut_from_that_block_alone():
    block = covering(ms(2024, 3, 5), ms(2024, 3, 6), "1h")
    assert len(block) == 1 and block[0].start <= ms(2024, 3, 5) and block[0].end >= ms(2024, 3, 6)
    start, end = block[0].start, block[0].end
    windows = [(start + HOUR * k, start + HOUR * (k + j)) for k in range(1, 300, 37) for j in (1, 5, 48, 200)]
    assert {tuple(blocks_for(a, b, "1h", "1h")) for a, b in windows if b < end} == {tuple(block)}


def test_blocks_are_aligned_and_hold_one_granularity():
    for granularity, origin in (("1h", 0), ("1d", 0), ("1w", history.MONDAY)):
        size = BLOCK_MS[granularity]
        for block in covering(ms(2020, 1, 1), ms(2024, 1, 1), granularity):
            assert (block.start - origin) % size == 0 and block.end - block.start == size
    # CoinGecko: a range of up to 90 days has hourly points, a longer one daily points
    assert BLOCK_MS["1h"] <= 90 * DAY < BLOCK_MS["1d"] <= 365 * DAY
    assert all(Block(g, 0, BLOCK_MS[g]).candles <= 1000 for g in BLOCK_MS)  # one call on Binance and KuCoin
    weekly = covering(ms(2024, 1, 1), ms(2024, 2, 1), "1w")[0]
    assert datetime.fromtimestamp(weekly.start / 1000, UTC).weekday() == 0


def test_a_window_across_a_block_boundary_takes_both_and_the_boundary_before_its_first_point():
    first = covering(ms(2024, 3, 5), ms(2024, 3, 6), "1h")[0]
    # the first point needs the observations of the hour before it, which lie in the block before
    assert covering(first.start - HOUR, first.start + HOUR, "1h") == [
        Block("1h", first.start - BLOCK_MS["1h"], first.start), first]
    assert covering(first.start, first.start + HOUR, "1h") == [first]  # a point at the start needs no more
    assert covering(first.start - 2 * HOUR, first.start, "1h") == [Block("1h", first.start - BLOCK_MS["1h"],
                                                                           first.start)]


def test_nothing_is_asked_before_bitcoin_existed():
    blocks = covering(0, ms(2010, 1, 1), "1d")
    assert blocks[0].start <= EARLIEST < blocks[0].end and len(blocks) == 2
    assert covering(0, ms(2000, 1, 1), "1w") == []


def test_a_block_is_closed_an_hour_after_its_end():
    block = Block("1h", 0, BLOCK_MS["1h"])
    assert not block.closed(block.end) and not block.closed(block.end + HOUR - 1) and block.closed(block.end + HOUR)
