"""kerascheck: a static linter for TimeDistributed and return_sequences mistakes in Keras code."""

from kerascheck.check import check_source
from kerascheck.findings import Finding, Fix, SourceError

__version__ = "0.1.0"
__all__ = ["Finding", "Fix", "SourceError", "__version__", "check_source"]
