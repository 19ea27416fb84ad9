from methods.core.threads import effective_threads


def test_rule_threads_are_kept_when_cores_are_not_overcommitted():
    assert effective_threads(2, workflow_cores=2, cores=2) == 2
    assert effective_threads(1, workflow_cores=2, cores=2) == 1


def test_threads_scale_down_when_snakemake_is_given_more_cores_than_exist():
    # snakemake --cores 8 on 2 cores runs four 2-thread jobs at once: each gets 1/4 of the machine
    assert effective_threads(2, workflow_cores=8, cores=2) == 1
    assert effective_threads(8, workflow_cores=8, cores=2) == 2


def test_threads_never_exceed_the_machine():
    assert effective_threads(16, workflow_cores=None, cores=2) == 2
    assert effective_threads(0, workflow_cores=None, cores=2) == 1
