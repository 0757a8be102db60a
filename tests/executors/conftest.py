"""A real local Ray instance (2 CPUs) shared by the Ray tests of this folder; they skip when ray is missing."""

import pytest

from ddcf.runtime import is_available

require_ray = pytest.mark.skipif(not is_available("ray"), reason='needs ray (pip install -e ".[ray]")')


@pytest.fixture(scope="session")
def ray_instance():
    import jobs_for_tests
    import ray

    # The test job classes are sent to the workers by value (the workers cannot import tests/).
    ray.cloudpickle.register_pickle_by_value(jobs_for_tests)
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield ray
    ray.shutdown()
