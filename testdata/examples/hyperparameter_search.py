"""Random hyperparameter search with early stopping, after Ray's tuning examples.

Each trial trains a small numpy model (a one-hidden-layer network on two concentric rings, which no
linear model separates) in an actor, a few epochs per call. The driver keeps every live trial busy and acts on results as they
finish (`ray.wait`): a trial whose accuracy trails the best one by too much after its first epochs
is stopped (`ray.kill`), and its CPU goes to the next trial.

    rayx run hyperparameter_search.py            # 12 trials of up to 8 rounds
    rayx run hyperparameter_search.py --large    # 48 trials of up to 20 rounds

Exits 1 unless the best trial reaches 85% accuracy on held-out data.
"""

import math
import sys

import numpy as np
import ray


def make_data(seed: int = 0, n: int = 2000):
    """Points on two noisy concentric rings in the plane; the label is the ring."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    radius = 1.0 + labels + rng.normal(scale=0.25, size=n)
    angle = rng.uniform(0, 2 * math.pi, size=n)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    split = n * 3 // 4
    return (points[:split], labels[:split]), (points[split:], labels[split:])


@ray.remote
class Trial:
    """Trains a tanh network with one set of hyperparameters, a round of epochs per call."""

    def __init__(self, config: dict, train, test):
        self.config = config
        self.x, self.y = train
        self.test_x, self.test_y = test
        self.rng = np.random.default_rng(config["seed"])
        hidden = config["hidden"]
        self.w1 = self.rng.normal(scale=1.0, size=(2, hidden))
        self.b1 = np.zeros(hidden)
        self.w2 = self.rng.normal(scale=1.0 / math.sqrt(hidden), size=hidden)
        self.b2 = 0.0

    def predict(self, x):
        h = np.tanh(x @ self.w1 + self.b1)
        return h, 1 / (1 + np.exp(-np.clip(h @ self.w2 + self.b2, -30, 30)))

    def train_round(self, epochs: int = 2) -> float:
        lr, l2, batch = self.config["lr"], self.config["l2"], self.config["batch"]
        for _ in range(epochs):
            order = self.rng.permutation(len(self.y))
            for start in range(0, len(order), batch):
                x, y = self.x[order[start:start + batch]], self.y[order[start:start + batch]]
                h, p = self.predict(x)
                error = (p - y) / len(y)  # d(log loss)/d(logit)
                grad_h = np.outer(error, self.w2) * (1 - h * h)
                self.w2 -= lr * (h.T @ error + l2 * self.w2)
                self.b2 -= lr * error.sum()
                self.w1 -= lr * (x.T @ grad_h + l2 * self.w1)
                self.b1 -= lr * grad_h.sum(axis=0)
        _, p = self.predict(self.test_x)
        return float(((p > 0.5) == self.test_y).mean())


def random_config(rng: np.random.Generator, seed: int) -> dict:
    return {
        "lr": float(10 ** rng.uniform(-3, 0.5)),  # Some far too small to learn in time.
        "l2": float(10 ** rng.uniform(-6, -1)),
        "hidden": int(rng.choice([2, 4, 16])),  # Two hidden units cannot draw a ring.
        "batch": int(rng.choice([16, 64, 256])),
        "seed": seed,
    }


def main() -> int:
    large = "--large" in sys.argv
    num_trials, max_rounds = (48, 20) if large else (12, 8)
    ray.init()
    train, test = make_data()
    train_ref, test_ref = ray.put(train), ray.put(test)  # Shared by every trial, stored once.
    rng = np.random.default_rng(42)
    concurrent = max(1, int(ray.cluster_resources().get("CPU", 1)))
    pending_configs = [random_config(rng, i) for i in range(num_trials)]
    running = {}  # In-flight train_round ref -> (trial handle, config, rounds done).
    best = {"accuracy": 0.0, "config": None}
    stopped = finished = 0

    def start_next():
        config = pending_configs.pop(0)
        trial = Trial.remote(config, train_ref, test_ref)
        running[trial.train_round.remote()] = (trial, config, 0)

    for _ in range(min(concurrent, len(pending_configs))):
        start_next()
    while running:
        [ref], _ = ray.wait(list(running), num_returns=1)
        trial, config, rounds = running.pop(ref)
        accuracy = ray.get(ref)
        rounds += 1
        if accuracy > best["accuracy"]:
            best = {"accuracy": accuracy, "config": config}
        # Early stopping: after two rounds, a trial well behind the best stops.
        if rounds >= 2 and accuracy < best["accuracy"] - 0.05:
            ray.kill(trial)
            stopped += 1
        elif rounds >= max_rounds:
            ray.kill(trial)
            finished += 1
        else:
            running[trial.train_round.remote()] = (trial, config, rounds)
            continue
        if pending_configs:
            start_next()
    c = best["config"]
    print(f"trials: {num_trials}, stopped early: {stopped}, ran to the end: {finished}")
    print(f"best accuracy: {best['accuracy']:.3f} with lr={c['lr']:.3g}, l2={c['l2']:.2g}, "
          f"hidden={c['hidden']}, batch={c['batch']}")
    ray.shutdown()
    return 0 if best["accuracy"] >= 0.85 and stopped > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
