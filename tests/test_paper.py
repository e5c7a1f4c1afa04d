"""The paper's pair features: each real image beside k of the synthetic images."""

import numpy as np

from ctprints.paper import pair_table


def test_pair_table_pairs_each_real_row_with_k_synthetic_rows() -> None:
    real = np.arange(6, dtype=float).reshape(3, 2)
    synthetic = -np.arange(1, 9, dtype=float).reshape(4, 2)
    table, owner = pair_table(real, synthetic, 2, np.random.default_rng(0), labels=[1, 0, 1])
    assert list(table.columns) == ["s0", "s1", "r0", "r1", "used"]
    assert list(owner) == [0, 0, 1, 1, 2, 2]
    np.testing.assert_array_equal(table[["r0", "r1"]].to_numpy(), real[owner])
    assert set(map(tuple, table[["s0", "s1"]].to_numpy())) <= set(map(tuple, synthetic))
    assert list(table.used) == [1, 1, 0, 0, 1, 1]
    unlabelled, _ = pair_table(real, synthetic, 3, np.random.default_rng(0))
    assert "used" not in unlabelled and len(unlabelled) == 9
