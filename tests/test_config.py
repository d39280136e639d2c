"""audit.toml: every key optional, strictly typed, unknown keys refused."""

import pytest

from audit.config import Settings, load_settings, settings_from_mapping
from audit.errors import UsageError


def test_missing_default_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUDIT_CONFIG", raising=False)
    assert load_settings() == Settings()


def test_explicit_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIT_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(UsageError, match="does not exist"):
        load_settings()


def test_every_key_is_read(tmp_path, monkeypatch):
    (tmp_path / "audit.toml").write_text(
        'repositories = ["acme/api"]\nproduction_environments = ["prod-*"]\nrequired_approvers = 3\n'
        'approval_window_minutes = 60\ntest_jobs = ["unit"]\nscan_jobs = ["scan"]\nmax_severity = "critical"\n'
        'allowed_branches = ["main", "release/*"]\ntimezone = "Europe/Berlin"\n'
    )
    monkeypatch.setenv("AUDIT_CONFIG", str(tmp_path / "audit.toml"))
    settings = load_settings()
    assert settings.repositories == ("acme/api",)
    assert settings.production_environments == ("prod-*",)
    assert (settings.required_approvers, settings.approval_window_minutes) == (3, 60)
    assert settings.allowed_branches == ("main", "release/*")
    assert settings.max_severity == "critical" and settings.timezone == "Europe/Berlin"


def test_emergency_policy_keys(tmp_path, monkeypatch):
    (tmp_path / "audit.toml").write_text(
        'emergency_branches = ["incident/*"]\nemergency_labels = ["Emergency"]\nemergency_review_days = 5\n'
    )
    monkeypatch.setenv("AUDIT_CONFIG", str(tmp_path / "audit.toml"))
    settings = load_settings()
    assert settings.emergency_branches == ("incident/*",)
    assert (settings.emergency_labels, settings.emergency_review_days) == (("Emergency",), 5)
    assert Settings().emergency_review_days == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colour": "blue"}, "unknown key 'colour'"),
        ({"required_approvers": "2"}, "required_approvers must be a whole number"),
        ({"required_approvers": 0}, "required_approvers must be a whole number >= 1"),
        ({"required_approvers": True}, "required_approvers must be a whole number"),
        ({"test_jobs": "test"}, "test_jobs must be a list of strings"),
        ({"test_jobs": ["test", 3]}, "test_jobs must be a list of strings"),
        ({"max_severity": "HIGH!"}, "max_severity must be one of"),
        ({"repositories": ["acme"]}, "invalid repository 'acme'"),
        ({"production_environments": []}, "production_environments must name at least one"),
        ({"timezone": ""}, "timezone must be a non-empty string"),
        ({"emergency_branches": "hotfix/*"}, "emergency_branches must be a list of strings"),
        ({"emergency_labels": ["emergency", ""]}, "emergency_labels must not contain an empty string"),
        ({"emergency_review_days": -1}, "emergency_review_days must be a whole number >= 0"),
        ({"emergency_review_days": 1.5}, "emergency_review_days must be a whole number"),
        ({"emergency_window": 3}, "unknown key 'emergency_window'"),
    ],
)
def test_bad_values_are_one_clear_error(data, message):
    with pytest.raises(UsageError, match=message):
        settings_from_mapping(data)
