"""The README prints `python -m scanner.devtools.sarif_preview FILE`: a wrong file is exit 2 naming
it, not a traceback."""

import pytest

from scanner.devtools import sarif_preview
from tests.conftest import ROOT


@pytest.mark.parametrize("body, says", [(None, "cannot read it"), ("not json", "not a SARIF log"),
                                        ("{}", "not a SARIF log")], ids=["missing", "not-json", "no-runs"])
def test_bad_file_is_exit_2_naming_it(tmp_path, capsys, body, says):
    path = tmp_path / "x.sarif"
    if body is not None:
        path.write_text(body)
    assert sarif_preview.main([str(path)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith(f"error: {path}: {says}")


def test_the_readme_example_still_renders(capsys):
    golden = ROOT / "tests" / "fixtures" / "iac" / "golden" / "scan.sarif"
    assert sarif_preview.main([str(golden), "--only", "Standard_DS2_v2"]) == 0
    assert "Code scanning / aks-retirement-scanner" in capsys.readouterr().out
