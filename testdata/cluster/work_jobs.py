# Run by cluster_work_test.sh as the first driver of node a and, at the same time, of node b:
# task and actor ids derive from the job id, and both drivers run the same code, so with the same
# job id their actors on c would have the same id (the second refused as created twice). Each
# prints its job id; the test checks that they differ.
import sys
import time

import rayx

rayx.init()


@rayx.remote(resources={"c": 0.1})
class Keeper:
    def job(self):
        return rayx.get_runtime_context().get_job_id()


keeper = Keeper.remote()
job = rayx.get_runtime_context().get_job_id()
assert rayx.get(keeper.job.remote(), timeout=30) == job
time.sleep(float(sys.argv[1]))  # The other driver's actor is created while this one lives.
assert rayx.get(keeper.job.remote(), timeout=30) == job
print("jobs ok", job)
