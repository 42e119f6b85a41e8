"""AKS / VM size retirement scanner."""

__version__ = "0.1.0"
USER_AGENT = f"aks-retirement-scanner/{__version__} (+https://github.com/aks-retirement-scanner)"
