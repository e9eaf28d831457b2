"""Makes the rayx package importable from the source tree, over the fake `_rayx` engine."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # embed/python: holds the rayx package.

import fake_rayx  # noqa: E402

engine = fake_rayx.install()
