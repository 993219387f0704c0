"""Member streams, gradient noise and regret (optrun.objectives.rounds), against numpy generators
seeded here independently and against sums written out here."""

from __future__ import annotations

import numpy as np
import pytest

from optrun.objectives import get_objective
from optrun.objectives.rounds import (
    NOISE_STREAM,
    SPIKE_STREAM,
    MemberStreams,
    NoiseError,
    Rounds,
    uniform,
    validate_noise,
)


def own_generator(seed: int, purpose: int) -> np.random.Generator:
    """What the docs promise: a member's stream for a purpose is PCG64(SeedSequence([seed, purpose]))."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, purpose])))


def normal(gen, out):
    gen.standard_normal(out=out)


@pytest.mark.parametrize("seeds", [[7], [7, 7, 8], [3, 7, 1, 2, 9] * 40])
def test_a_members_rows_are_its_own_stream_whatever_the_batch(seeds, monkeypatch):
    import optrun.objectives.rounds as rounds

    monkeypatch.setattr(rounds, "BLOCK_NUMBERS", 3 * 4 * len(seeds))  # blocks of 4 rows: refills show
    streams = MemberStreams(seeds, 3, normal, NOISE_STREAM)
    rows = np.stack([streams.row(r).copy() for r in range(23)], axis=1)  # (S, 23, 3)
    for s, seed in enumerate(seeds):
        np.testing.assert_array_equal(rows[s], own_generator(seed, NOISE_STREAM).standard_normal((23, 3)))


def test_rows_skipped_are_drawn_and_dropped_so_a_resume_finds_its_place():
    a = MemberStreams([5, 6], 2, uniform, SPIKE_STREAM)
    b = MemberStreams([5, 6], 2, uniform, SPIKE_STREAM)
    wanted = [a.row(r).copy() for r in range(70_000)][-1]
    np.testing.assert_array_equal(b.row(69_999), wanted)
    np.testing.assert_array_equal(b.row(69_999), wanted)  # asked again: the same row
    with pytest.raises(ValueError, match="row 3"):
        b.row(3)


def _rounds(noise, seeds, name="sphere", dim=3):
    obj = get_objective(name).build(dim)
    return Rounds(obj, validate_noise(noise), seeds, dim)


def _observe(rounds, x, row):
    S = x.shape[0]
    f, g2, extra = np.empty(S), np.empty(S), [np.empty(S), np.empty(S)]
    seen = rounds.observe(x, row, f, g2, extra).copy()
    return f, g2, seen, extra


@pytest.mark.parametrize(
    ("noise", "law"),
    [
        ({"std": 0.3}, lambda gen, n: gen.standard_normal(n)),
        ({"law": "cauchy", "std": 0.2}, lambda gen, n: gen.standard_cauchy(n)),
        ({"law": "student_t", "df": 2.5, "std": 0.1}, lambda gen, n: gen.standard_t(2.5, n)),
    ],
)
def test_gaussian_heavy_tailed_noise_is_added_to_the_exact_gradient(noise, law):
    seeds = [11, 12, 11]
    r = _rounds(noise, seeds)
    x = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0], [0.5, -1.0, 2.0]])
    gens = [own_generator(s, NOISE_STREAM) for s in seeds]
    draws = np.stack([law(gen, (6, 3)) for gen in gens])  # (S, rows, d)
    for row in range(6):
        f, g2, seen, _ = _observe(r, x, row)
        g = 2 * x  # the sphere's gradient
        np.testing.assert_array_equal(f, np.sum(x * x, axis=1))  # f and its norm are noise-free
        np.testing.assert_allclose(g2, np.sum(g * g, axis=1), rtol=1e-15)
        np.testing.assert_array_equal(seen, g + noise["std"] * draws[:, row])
    # members 0 and 2 share a seed: the same noise (common random numbers)
    np.testing.assert_array_equal(draws[0], draws[2])


def test_relative_noise_scales_each_coordinate_by_its_gradient_and_spikes_are_rare_and_signed():
    seeds = [4, 9]
    noise = {"std": 0.5, "relative": True, "spike_prob": 0.2, "spike_size": 100.0}
    r = _rounds(noise, seeds, dim=4)
    x = np.array([[0.0, 1.0, -2.0, 0.25], [3.0, 0.0, 1.0, -1.0]])
    g = 2 * x
    z = np.stack([own_generator(s, NOISE_STREAM).standard_normal((400, 4)) for s in seeds])
    u = np.stack([own_generator(s, SPIKE_STREAM).random((400, 4)) for s in seeds])
    spikes = 0
    for row in range(400):
        _, _, seen, _ = _observe(r, x, row)
        spike = np.where(u[:, row] < 0.1, 100.0, np.where(u[:, row] < 0.2, -100.0, 0.0))
        want = g.copy()
        want += (z[:, row] * 0.5) * np.abs(g)
        want += spike * np.abs(g)
        np.testing.assert_array_equal(seen, want)
        assert (seen[g == 0] == 0).all()  # relative: a zero gradient coordinate stays exact
        spikes += int(np.count_nonzero(spike))
    assert 0.15 < spikes / u.size < 0.25


def test_regret_sums_each_rounds_loss_against_the_optimum():
    obj = get_objective("reddi-theorem1").build(1)
    r = Rounds(obj, None, [0, 1], 1)
    assert r.columns == ("regret", "avg_regret")
    rng = np.random.default_rng(2)
    total = np.zeros(2)
    for row in range(50):
        t = row + 1
        x = rng.uniform(-1, 1, (2, 1))
        f, _, seen, (reg, avg) = _observe(r, x, row)
        a = 3.0 if t % 3 == 1 else -1.0
        total += a * x[:, 0] - a * -1.0  # f_t(x_t) - f_t(x*)
        np.testing.assert_array_equal(f, a * x[:, 0])
        np.testing.assert_array_equal(seen, np.full((2, 1), a))
        np.testing.assert_allclose(reg, total, rtol=1e-14)
        np.testing.assert_allclose(avg, total / t, rtol=1e-14)


def test_a_restored_regret_does_not_count_the_checkpoints_round_twice():
    obj = get_objective("reddi-online").build(1)
    x = np.array([[0.3]])
    a = Rounds(obj, None, [0], 1)
    for row in range(10):
        _observe(a, x, row)
    kept = a.state()
    b = Rounds(obj, None, [0], 1)
    b.restore(kept, 9)
    _, _, _, (reg_b, _) = _observe(b, x, 9)  # the loop observes the checkpoint's row again
    np.testing.assert_array_equal(reg_b, kept["regret"])
    _, _, _, (reg_a, _) = _observe(a, x, 10)
    _, _, _, (reg_b, _) = _observe(b, x, 10)
    np.testing.assert_array_equal(reg_a, reg_b)


@pytest.mark.parametrize(
    ("raw", "key", "words"),
    [
        ({"std": -1.0}, "std", "at least 0"),
        ({"std": float("nan")}, "std", "finite"),
        ({"std": "big"}, "std", "finite number"),
        ({"law": "uniform", "std": 1}, "law", "gaussian, student_t, cauchy"),
        ({"std": 1, "df": 3}, "df", "student_t"),
        ({"law": "student_t", "std": 1, "df": 0}, "df", "above 0"),
        ({"std": 1, "spike_prob": 2}, "spike_prob", "at most 1"),
        ({"std": 0}, "std", "adds nothing"),
        ({"std": 1, "relative": "yes"}, "relative", "true or false"),
        ({"sigma": 1}, "sigma", "valid keys"),
        ([0.1], "", "mapping"),
    ],
)
def test_bad_noise_blocks_name_the_key(raw, key, words):
    with pytest.raises(NoiseError) as e:
        validate_noise(raw)
    assert e.value.key == key and words in e.value.message


def test_a_noise_block_resolves_every_default():
    assert validate_noise({"std": 0.1}) == {
        "law": "gaussian",
        "std": 0.1,
        "relative": False,
        "spike_prob": 0.0,
        "spike_size": 0.0,
    }
    assert validate_noise({"law": "student_t", "std": 1})["df"] == 3.0
    assert validate_noise(None) is None
