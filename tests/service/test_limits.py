"""ServiceLimits, ServiceError and subject-name validation."""

from __future__ import annotations

import pytest

from gaitforge.service import ServiceError, ServiceLimits, check_subject


def test_limits_are_positive_integers() -> None:
    assert ServiceLimits().to_dict()["max_upload_bytes"] == 64 * 2**20
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match=r"ServiceLimits\.max_frames is .*expected an integer >= 1"):
            ServiceLimits(max_frames=bad)


def test_error_body_names_field_and_limit() -> None:
    err = ServiceError(413, "too_many_frames", "field 'file': 30 frames; the limit is 20", "file", 20)
    assert err.to_dict() == {
        "error": {
            "status": 413,
            "code": "too_many_frames",
            "field": "file",
            "limit": 20,
            "message": "field 'file': 30 frames; the limit is 20",
        }
    }


@pytest.mark.parametrize("name", ["alice", "A-01", "nm_01.b", "José", "李雷", "two words", "_x", "7"])
def test_good_subject_names(name: str) -> None:
    assert check_subject(name, ServiceLimits()) == name


@pytest.mark.parametrize(
    "name", ["..", ".hidden", "a/b", "a\\b", " x", "x ", "a\tb", "a\x00b", "a:b", "<script>", "-x", "x" * 65, None, 3]
)
def test_bad_subject_names(name: object) -> None:
    with pytest.raises(ServiceError) as info:
        check_subject(name, ServiceLimits(), field="who")
    assert info.value.status == 422 and info.value.field == "who" and "field 'who'" in info.value.message
    if name == "x" * 65:
        assert info.value.limit == 64 and "65 characters" in info.value.message
