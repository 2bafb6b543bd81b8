"""cartads-cloud's replica flags: the index cache, compile leases and heartbeats reach the config; bad
values are usage errors naming the flag."""

from __future__ import annotations

import pytest

from cloud_core.app.cli import build_parser, config_from_args


def test_replica_flags_reach_the_config() -> None:
    """--index-cache-mb, --compile-lease-s, --replica-heartbeat-s and --replica-timeout-s set the config."""
    argv = ["--db", "x", "--index-cache-mb", "32", "--compile-lease-s", "4", "--replica-heartbeat-s", "1"]
    config = config_from_args(build_parser().parse_args([*argv, "--replica-timeout-s", "6"]))
    assert config.index_cache_bytes == 32 * 1024 * 1024
    assert (config.compile_lease_s, config.replica_heartbeat_s, config.replica_timeout_s) == (4.0, 1.0, 6.0)


def test_replica_flags_default_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """CARTADS_INDEX_CACHE_MB and CARTADS_REPLICA_TIMEOUT_S are the defaults of their flags."""
    monkeypatch.setenv("CARTADS_INDEX_CACHE_MB", "8")
    monkeypatch.setenv("CARTADS_REPLICA_TIMEOUT_S", "20")
    config = config_from_args(build_parser().parse_args(["--db", "x"]))
    assert (config.index_cache_bytes, config.replica_timeout_s) == (8 * 1024 * 1024, 20.0)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--index-cache-mb", "0"),
        ("--index-cache-mb", "lots"),
        ("--compile-lease-s", "-1"),
        ("--compile-lease-s", "nan"),
        ("--replica-heartbeat-s", "inf"),
        ("--replica-timeout-s", "0"),
    ],
)
def test_bad_replica_flag_is_a_usage_error(flag: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A non-positive, non-numeric or infinite value exits 2 with a message naming the flag."""
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--db", "x", flag, value])
    assert exit_info.value.code == 2
    assert flag in capsys.readouterr().err


def test_bad_environment_value_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad CARTADS_COMPILE_LEASE_S is reported like a bad flag, not as a traceback."""
    monkeypatch.setenv("CARTADS_COMPILE_LEASE_S", "soon")
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--db", "x"])
    assert exit_info.value.code == 2
    assert "--compile-lease-s" in capsys.readouterr().err
