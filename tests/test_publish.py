"""Publishing the web edition (.github/workflows/site.yml, docs/site.md): the workflow
parses, builds with `make site` from this repository's own address, and hands
build/site to GitHub Pages. GitHub itself cannot be reached from here: the workflow is
read, not run."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "site.yml"


def steps(job: dict) -> list[dict]:
    return job["steps"]


def test_the_site_workflow_builds_with_make_site_and_publishes_build_site():
    flow = yaml.safe_load(WORKFLOW.read_text())
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "main" in triggers["push"]["branches"]
    assert flow["permissions"]["pages"] == "write" and flow["permissions"]["id-token"] == "write"
    build, deploy = flow["jobs"]["build"], flow["jobs"]["deploy"]
    (make,) = [s for s in steps(build) if s.get("run", "").strip() == "make site"]
    assert make["env"]["FMTB_REPOSITORY_URL"] == \
        "${{ github.server_url }}/${{ github.repository }}"  # the buttons: this repository
    upload = steps(build)[steps(build).index(make) + 1]
    assert upload["uses"].startswith("actions/upload-pages-artifact@")
    assert upload["with"]["path"] == "build/site"
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in steps(deploy))


def test_the_make_site_target_is_what_the_workflow_runs():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nsite: " in makefile and "site/build.py" in makefile
    assert ".github/workflows/site.yml" in (ROOT / "docs" / "site.md").read_text()
