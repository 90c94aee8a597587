"""History points sit on the interval's boundaries and carry the price at that time."""

from datetime import UTC, datetime

from market_svc.domain import history

HOUR, DAY = history.HOUR, history.DAY


def ms(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_grids_are_the_intervals_own_boundaries():
    assert history.grid(ms(2024, 3, 1, 10, 30), ms(2024, 3, 1, 13, 0), "1h") == [
        ms(2024, 3, 1, 11), ms(2024, 3, 1, 12), ms(2024, 3, 1, 13)]
    assert history.grid(ms(2024, 3, 1, 1), ms(2024, 3, 3, 23), "1d") == [ms(2024, 3, 2), ms(2024, 3, 3)]
    assert history.grid(ms(2024, 3, 1), ms(2024, 3, 20), "1w") == [ms(2024, 3, 4), ms(2024, 3, 11), ms(2024, 3, 18)]
    assert all(datetime.fromtimestamp(t / 1000, UTC).weekday() == 0 for t in history.grid(0, ms(2024, 1, 1), "1w"))
    assert history.grid(ms(2023, 11, 15), ms(2024, 3, 1), "1M") == [
        ms(2023, 12, 1), ms(2024, 1, 1), ms(2024, 2, 1), ms(2024, 3, 1)]
    assert history.previous(ms(2024, 3, 1), "1M") == ms(2024, 2, 1)
    assert history.count(ms(2024, 1, 1), ms(2024, 1, 2), "1h") == 25
    assert history.count(ms(2024, 1, 1), ms(2024, 12, 31), "1M") == 12


def test_an_observation_counts_at_the_next_boundary_within_one_interval():
    base = ms(2024, 3, 1, 10)
    observations = [(base - 10 * 60_000, 1.0), (base + 20 * 60_000, 2.0), (base + 59 * 60_000, 3.0),
                    (base + 3 * HOUR - 1, 4.0)]
    points = history.at_boundaries(observations, history.grid(base, base + 3 * HOUR, "1h"), "1h")
    # 10:00 <- 09:50; 11:00 <- 10:59; 12:00: nothing within the hour before; 13:00 <- 12:59:59.999
    assert points == {base: 1.0, base + HOUR: 3.0, base + 3 * HOUR: 4.0}


def test_a_candle_gives_its_close_under_its_close_time_once_complete():
    now = ms(2024, 3, 1, 12, 30)
    candles = [(ms(2024, 3, 1, 10), 10.0, 1.0), (ms(2024, 3, 1, 11), 11.0, 2.0), (ms(2024, 3, 1, 12), 12.0, 3.0)]
    assert history.closes(candles, HOUR, now) == {ms(2024, 3, 1, 11): (10.0, 1.0), ms(2024, 3, 1, 12): (11.0, 2.0)}
