import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "reference"
FIXTURES = ROOT / "tests" / "fixtures"

# Azurite (tables, queues, blobs) on loopback for integration tests: see tests/fakes/azurite.py.
from tests.fakes.azurite import azurite_env, azurite_server  # noqa: E402, F401, I001

# Property tests (hypothesis): the same examples every run (derandomize), no example database on
# disk, no per-example deadline (CI machines are shared); each test sets its own max_examples.
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("scanner", derandomize=True, database=None, deadline=None,
                                          print_blob=False)
    _hypothesis_settings.load_profile("scanner")
except ImportError:  # pragma: no cover - requirements-dev.txt installs it
    pass
