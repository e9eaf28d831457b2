"""rayx: Ray Core's API, served by one self-contained binary.

Placeholder package: the real API is being written.
"""

__version__ = "0.1.0"
