"""Seeding: stable derived seeds, and torch's deterministic mode switched on without loading inductor."""

import subprocess
import sys

from methods.core.seeding import derive_seed


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(0, "split") == derive_seed(0, "split")
    assert derive_seed(0, "split") != derive_seed(1, "split")
    assert 0 <= derive_seed("digits", "split") < 2**31


def test_seed_everything_turns_on_warn_only_determinism_without_importing_inductor():
    # A fresh interpreter: this test process may already have imported inductor through other tests.
    code = (
        "import sys, torch\n"
        "from methods.core.seeding import seed_everything\n"
        "assert not torch.are_deterministic_algorithms_enabled()\n"
        "a = seed_everything(3).integers(1000); t = torch.rand(2)\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "assert 'torch._inductor.config' not in sys.modules\n"
        "b = seed_everything(3).integers(1000)\n"
        "assert a == b and torch.equal(t, (seed_everything(3), torch.rand(2))[1])\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
