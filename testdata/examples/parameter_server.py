"""A parameter server, after Ray's example: a numpy softmax-regression model trained on a
synthetic ten-class problem by worker actors that compute gradients on their own shards of the
data, synchronously (every step averages one gradient from each worker) and asynchronously (the
server applies each gradient as it arrives, and the worker that sent it gets the new weights).

    rayx run parameter_server.py            # 2 workers, 150 steps each way
    rayx run parameter_server.py --large    # 4 workers, 600 steps each way

Exits 1 unless both ways reach 80% accuracy on held-out data.
"""

import sys

import numpy as np
import ray

CLASSES, DIM = 10, 16


def make_data(seed: int = 0, n: int = 6000):
    """Ten Gaussian clusters in DIM dimensions; the label is the cluster."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=0.9, size=(CLASSES, DIM))
    labels = rng.integers(0, CLASSES, size=n)
    points = centers[labels] + rng.normal(size=(n, DIM))
    split = n * 5 // 6
    return (points[:split], labels[:split]), (points[split:], labels[split:])


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def accuracy(weights: np.ndarray, data) -> float:
    x, y = data
    return float((np.argmax(x @ weights, axis=1) == y).mean())


@ray.remote
class ParameterServer:
    """Holds the model and applies the gradients it is sent."""

    def __init__(self, lr: float):
        self.weights = np.zeros((DIM, CLASSES))
        self.lr = lr

    def apply_gradients(self, *gradients: np.ndarray) -> np.ndarray:
        self.weights -= self.lr * np.mean(gradients, axis=0)
        return self.weights

    def get_weights(self) -> np.ndarray:
        return self.weights


@ray.remote
class DataWorker:
    """Computes the gradient of the cross-entropy on minibatches of its shard."""

    def __init__(self, shard, seed: int, batch: int = 64):
        self.x, self.y = shard
        self.rng = np.random.default_rng(seed)
        self.batch = batch

    def compute_gradients(self, weights: np.ndarray) -> np.ndarray:
        rows = self.rng.integers(0, len(self.y), size=self.batch)
        x, y = self.x[rows], self.y[rows]
        p = softmax(x @ weights)
        p[np.arange(len(y)), y] -= 1
        return x.T @ p / len(y)


def train_sync(server, workers, steps: int) -> np.ndarray:
    weights = server.get_weights.remote()
    for _ in range(steps):
        gradients = [w.compute_gradients.remote(weights) for w in workers]
        weights = server.apply_gradients.remote(*gradients)  # Refs in, no get in between.
    return ray.get(weights)


def train_async(server, workers, steps: int) -> np.ndarray:
    weights = ray.get(server.get_weights.remote())
    in_flight = {w.compute_gradients.remote(weights): w for w in workers}
    for _ in range(steps * len(workers)):
        [ready], _ = ray.wait(list(in_flight))
        worker = in_flight.pop(ready)
        weights = server.apply_gradients.remote(ready)
        in_flight[worker.compute_gradients.remote(weights)] = worker
    ray.wait(list(in_flight), num_returns=len(in_flight))
    return ray.get(server.get_weights.remote())


def main() -> int:
    large = "--large" in sys.argv
    num_workers, steps = (4, 600) if large else (2, 150)
    ray.init()
    train, test = make_data()
    x, y = train
    shards = [(x[i::num_workers], y[i::num_workers]) for i in range(num_workers)]
    print(f"untrained: accuracy {accuracy(np.zeros((DIM, CLASSES)), test):.3f}")
    results = {}
    for mode, train_fn in (("synchronous", train_sync), ("asynchronous", train_async)):
        server = ParameterServer.remote(lr=0.5)
        workers = [DataWorker.remote(shards[i], seed=i) for i in range(num_workers)]
        weights = train_fn(server, workers, steps)
        results[mode] = accuracy(weights, test)
        print(f"{mode} training: accuracy {results[mode]:.3f} after {steps} steps "
              f"with {num_workers} workers")
    ray.shutdown()
    return 0 if min(results.values()) >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
