"""Errors the scanner raises on purpose. Each message says what, where and what to do.

    ScannerError                      base; the CLI maps it to exit code 2 (bad input)
    ├── InputError                    an input (file, URL, argument) could not be read or parsed
    │   ├── SizeNameError             a VM size name or series text has an unknown shape
    │   ├── CatalogError              the retirement catalogue (TOML) is invalid
    │   ├── FeedError                 the Azure Updates feed could not be fetched or parsed
    │   └── InventoryError            an inventory row / export is missing a field or malformed
    ├── ConfigError                   a setting is missing or malformed (names the setting)
    ├── AzureReadError                an Azure read failed for a whole scope (names the scope)
    └── StoreError                    Table Storage failed (never includes a connection string)
"""

from __future__ import annotations


class ScannerError(Exception):
    """Base of every error the scanner raises on purpose."""


class InputError(ScannerError):
    pass


class SizeNameError(InputError, ValueError):
    pass


class CatalogError(InputError):
    pass


class FeedError(InputError):
    pass


class InventoryError(InputError):
    pass


class ConfigError(ScannerError):
    pass


class AzureReadError(ScannerError):
    pass


class StoreError(ScannerError):
    pass


def client_message(exc: BaseException) -> str:
    """An error as a client may see it: ScannerErrors are written to be shown (no secrets);
    anything else only by its type."""
    if isinstance(exc, ScannerError):
        return str(exc)
    return f"unexpected {type(exc).__name__} (details are in the function log)"
