import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "reference"
FIXTURES = ROOT / "tests" / "fixtures"

# Azurite (tables, queues, blobs) on loopback for integration tests: see tests/fakes/azurite.py.
from tests.fakes.azurite import azurite_env, azurite_server  # noqa: E402, F401
