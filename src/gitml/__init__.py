"""gitml: Git-native CI/CD for machine learning.

Importing this package does no I/O; capabilities live in submodules.
"""

__version__ = "0.1.0"
