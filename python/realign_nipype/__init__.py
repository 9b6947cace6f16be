"""nipype interfaces to realign, rigid-body head-motion correction of 4D fMRI.

``Realign`` wraps ``realign [OPTIONS] INPUT OUTPUT``; ``ApplyXfm`` wraps
``realign apply --xfm XFM INPUT OUTPUT``. See python/README.md in the repository.
"""

from .interfaces import ApplyXfm, Realign

__version__ = "0.1.0"
__all__ = ["Realign", "ApplyXfm"]
