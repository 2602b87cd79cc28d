"""``parallel_critical_epsilon`` on a Dask cluster (the optional ``cluster`` extra).

The same picklable subtree tasks as the local process pool, submitted through
``Client.get_executor()`` to a local cluster of worker processes.  Skipped, with
the reason, when ``distributed`` is not installed (``.ci/extras`` installs it).
"""

from fractions import Fraction as F

import pytest
from rewardcert.proofs import checker
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.parallel import parallel_critical_epsilon

from benchmarks.common import random_distribution, random_mdp
from rewardcert.certificates import interval_certificate, threshold_certificate

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                                        "(optional extra: pip install 'rewardcert[cluster]')")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as connected:
        yield connected
    cluster.close()


def test_a_local_dask_cluster_gives_the_serial_answer_and_one_certificate(client):
    mdp = random_mdp(9000, 8, 4)
    D = random_distribution(1, mdp, zeros=0)
    L = F(1, 2)
    serial = critical_epsilon(mdp, D, L)
    clustered = parallel_critical_epsilon(mdp, D, L, jobs=2, executor=client.get_executor())
    assert clustered.complete and clustered.critical_epsilon == serial.critical_epsilon
    assert checker.check_document(threshold_certificate(mdp, D, L, clustered))[0] == "verified"


def test_a_stopped_cluster_run_keeps_a_certified_interval(client):
    mdp = random_mdp(10000, 10, 4)
    D = random_distribution(1, mdp, zeros=0)
    L = F(1, 2)
    star = F(2021149158310651, 164036082213084400)   # the finished search's answer (test_parallel)
    result = parallel_critical_epsilon(mdp, D, L, jobs=2, executor=client.get_executor(), subtree_max_nodes=20)
    assert not result.complete and 0 < result.lower_bound <= star
    assert result.upper_bound is None or star <= result.upper_bound
    assert checker.check_document(interval_certificate(mdp, D, L, result))[0] == "verified"
