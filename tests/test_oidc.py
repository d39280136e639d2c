"""OIDC detection in workflow files: job-level, workflow-level, overrides and unknowns."""

import pytest

from audit.oidc import oidc_capable

WORKFLOW = """
name: Deploy
on: push
{top}
jobs:
  test:
    runs-on: ubuntu-latest
    steps: [{{run: make test}}]
  deploy-production:
{job}
    runs-on: ubuntu-latest
    environment: production
    steps: [{{run: ./deploy.sh}}]
"""


def workflow(top: str = "", job: str = "") -> str:
    return WORKFLOW.format(top=top, job=job)


@pytest.mark.parametrize(
    ("text", "job_name", "expected"),
    [
        (workflow(job="    permissions:\n      id-token: write\n      contents: read"), "deploy-production", True),
        (workflow(top="permissions:\n  id-token: write"), "deploy-production", True),
        (workflow(top="permissions: write-all"), "deploy-production", True),
        (
            workflow(top="permissions:\n  id-token: write", job="    permissions:\n      contents: read"),
            "deploy-production",
            False,
        ),
        (workflow(job="    permissions:\n      id-token: read"), "deploy-production", False),
        (workflow(), "deploy-production", False),
        (workflow(top="permissions: read-all"), "deploy-production", False),
        (
            workflow(job="    name: Deploy to production\n    permissions:\n      id-token: write"),
            "Deploy to production",
            True,
        ),
        (workflow(job="    name: deploy\n    permissions:\n      id-token: write"), "deploy (eu-west-1)", True),
        (workflow(), "no-such-job", None),
        ("jobs: [unclosed", "deploy-production", None),
        (None, "deploy-production", None),
        (workflow(), None, None),
        (
            "name: x\njobs:\n  deploy-production:\n    uses: org/repo/.github/workflows/d.yml@v1\n",
            "deploy-production",
            None,
        ),
    ],
)
def test_oidc_capable(text, job_name, expected):
    assert oidc_capable(text, job_name) is expected


def test_each_workflow_version_is_parsed_once_for_all_its_deployments():
    """A quarter asks once per deployment; parsing each time cost seconds per 1,000."""
    from audit.oidc import _parse_workflow

    text = workflow(job="    name: deploy\n    permissions:\n      id-token: write") + "# parsed-once\n"
    before = _parse_workflow.cache_info().misses
    answers = {oidc_capable(text, f"deploy ({region})") for region in range(500)}
    assert answers == {True}
    assert _parse_workflow.cache_info().misses - before == 1
