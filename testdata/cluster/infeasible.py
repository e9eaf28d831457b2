# Run by cluster_nested_test.sh: a task that no node of the cluster can run waits, and is reported
# once with every member's resources (the test reads the report from the output).
import rayx

rayx.init()


@rayx.remote(resources={"nowhere": 1})
def never():
    return 1


refs = [never.remote() for _ in range(3)]
ready, _ = rayx.wait(refs, timeout=1.5)
assert ready == []
print("infeasible ok")
