"""cartads-edge and cartads-cloud flags for index sync: the ops endpoint and mutual TLS."""

from __future__ import annotations

import pytest

from cloud_core.app import cli as cloud_cli
from edge_node.app.cli import build_parser, config_from_args, main


def test_ops_listen_and_tls_flags_build_config() -> None:
    """--ops-listen and the --tls-* flags reach the edge config."""
    args = build_parser().parse_args(
        [
            "--store",
            "s1",
            "--cloud",
            "h:1",
            "--ops-listen",
            "127.0.0.1:9100",
            "--tls-cert",
            "e.pem",
            "--tls-key",
            "e.key",
            "--tls-ca",
            "ca.pem",
            "--tls-server-name",
            "cloud.example",
        ]
    )
    config = config_from_args(args)
    assert config.ops_listen_address == "127.0.0.1:9100"
    assert (config.tls_cert_path, config.tls_key_path, config.tls_ca_path) == ("e.pem", "e.key", "ca.pem")
    assert config.tls_server_name == "cloud.example"


def test_edge_partial_tls_flags_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A certificate without its key and CA exits 2 naming what is missing."""
    with pytest.raises(SystemExit) as exited:
        main(["--store", "s1", "--cloud", "h:1", "--tls-cert", "e.pem"])
    assert exited.value.code == 2
    assert "--tls-key" in capsys.readouterr().err


def test_cloud_tls_flags_build_config() -> None:
    """cartads-cloud's --tls-cert, --tls-key and --tls-client-ca reach the cloud config."""
    args = cloud_cli.build_parser().parse_args(
        ["--tls-cert", "c.pem", "--tls-key", "c.key", "--tls-client-ca", "ca.pem"]
    )
    config = cloud_cli.config_from_args(args)
    assert (config.tls_cert_path, config.tls_key_path, config.tls_client_ca_path) == ("c.pem", "c.key", "ca.pem")


def test_cloud_partial_tls_flags_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """cartads-cloud with a key but no certificate exits 2 naming the missing flags."""
    with pytest.raises(SystemExit) as exited:
        cloud_cli.main(["--tls-key", "c.key"])
    assert exited.value.code == 2
    assert "--tls-cert" in capsys.readouterr().err
