"""Policy gradient on a small Pong-like game, after Ray's Pong example: rollouts are played in
parallel by actors with the current policy, and the driver averages their gradients.

The game: a ball falls down a field WIDTH columns wide, one row per step, drifting sideways and
bouncing off the side walls; the paddle on the bottom row moves left, stays or moves right each
step; it is three cells wide and scores +1 when it is under the ball as the ball reaches the
bottom, -1 otherwise. The policy is a softmax over the three moves, linear in what the paddle sees
(where the ball will be next, relative to the paddle's middle, and where it drifts); it is trained
by REINFORCE with a running baseline.

    rayx run pong_policy_gradient.py            # 2 rollout actors, 25 iterations
    rayx run pong_policy_gradient.py --large    # 4 rollout actors, 60 iterations

Exits 1 unless the mean reward rose by at least 0.5 from the first iterations to the last.
"""

import sys

import numpy as np
import ray

WIDTH, HEIGHT = 9, 9
MOVES = np.array([-1, 0, 1])


def features(ball_x: int, drift: int, paddle_x: int) -> np.ndarray:
    return np.array([np.clip(ball_x + drift - paddle_x, -4, 4), drift, 1.0])


def policy(weights: np.ndarray, f: np.ndarray) -> np.ndarray:
    logits = weights @ f
    p = np.exp(logits - logits.max())
    return p / p.sum()


def play(weights: np.ndarray, rng: np.random.Generator):
    """One ball: returns the reward and the gradient of the log-probability of the moves made."""
    ball_x, drift = int(rng.integers(0, WIDTH)), int(rng.choice([-1, 0, 1]))
    paddle_x = int(rng.integers(0, WIDTH))
    grad = np.zeros_like(weights)
    for _ in range(HEIGHT - 1):
        f = features(ball_x, drift, paddle_x)
        p = policy(weights, f)
        move = rng.choice(3, p=p)
        grad += np.outer(np.eye(3)[move] - p, f)  # d log p(move) / d weights
        paddle_x = int(np.clip(paddle_x + MOVES[move], 0, WIDTH - 1))
        ball_x += drift
        if ball_x < 0 or ball_x >= WIDTH:  # Bounce off the wall.
            drift = -drift
            ball_x += 2 * drift
    return (1.0 if abs(ball_x - paddle_x) <= 1 else -1.0), grad


@ray.remote
class RolloutWorker:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def rollouts(self, weights: np.ndarray, episodes: int, baseline: float):
        """Plays episodes; returns their mean reward and the summed policy gradient."""
        total_grad = np.zeros_like(weights)
        rewards = []
        for _ in range(episodes):
            reward, grad = play(weights, self.rng)
            rewards.append(reward)
            total_grad += (reward - baseline) * grad
        return float(np.mean(rewards)), total_grad / episodes


def main() -> int:
    large = "--large" in sys.argv
    num_workers, iterations, episodes = (4, 60, 40) if large else (2, 25, 40)
    ray.init()
    workers = [RolloutWorker.remote(seed=i) for i in range(num_workers)]
    weights = np.zeros((3, 3))
    baseline, lr = 0.0, 0.5
    history = []
    for it in range(iterations):
        results = ray.get([w.rollouts.remote(weights, episodes, baseline) for w in workers])
        mean_reward = float(np.mean([r for r, _ in results]))
        weights = weights + lr * np.mean([g for _, g in results], axis=0)
        baseline = 0.8 * baseline + 0.2 * mean_reward
        history.append(mean_reward)
        if it % 5 == 0 or it == iterations - 1:
            print(f"iteration {it:3d}: mean reward {mean_reward:+.2f}")
    first, last = np.mean(history[:3]), np.mean(history[-3:])
    print(f"mean reward rose from {first:+.2f} to {last:+.2f}")
    ray.shutdown()
    return 0 if last - first >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
