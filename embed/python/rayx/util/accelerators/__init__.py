"""`ray.util.accelerators`: names of accelerator types, for the ``accelerator_type`` option.

``@rayx.remote(accelerator_type=NVIDIA_TESLA_V100)`` is accepted; rayx does not yet place work by
accelerator type (the option warns once and is ignored).
"""

from rayx.util.accelerators.accelerators import *  # noqa: F401,F403
from rayx.util.accelerators.accelerators import __all__  # noqa: F401
