"""cartads-admin assets upload and creatives create --image against a real cloud."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cloud_core.app.server import CloudServer
from tests.asset_images import png_bytes
from tests.cloud_core.helpers import run_admin_cli_as_admin

pytestmark = pytest.mark.usefixtures("quiet_server_logs")


async def test_upload_prints_the_hash_and_creative_uses_the_image(
    cloud_server: CloudServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """assets upload prints the file's sha256; creatives create --image stores that hash on the creative."""
    image = tmp_path / "banner.png"
    image.write_bytes(png_bytes(300, 100))
    sha = hashlib.sha256(image.read_bytes()).hexdigest()
    assert await run_admin_cli_as_admin(cloud_server, "assets", "upload", str(image)) == 0
    assert capsys.readouterr().out.startswith(f"{sha}  image/png 300x100 ")
    assert await run_admin_cli_as_admin(cloud_server, "advertisers", "create", "--id", "acme", "--name", "Acme") == 0
    code = await run_admin_cli_as_admin(
        cloud_server,
        *("--json", "creatives", "create", "--id", "cr-b", "--advertiser", "acme", "--name", "B"),
        *("--format", "banner", "--headline", "Big sale", "--image", str(image)),
    )
    assert code == 0
    capsys.readouterr()
    assert await run_admin_cli_as_admin(cloud_server, "--json", "creatives", "get", "cr-b") == 0
    assert json.loads(capsys.readouterr().out)["image_asset_sha256"] == sha


async def test_uploading_a_text_file_names_the_problem(
    cloud_server: CloudServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not an image is refused in one line naming the field, exit 2."""
    fake = tmp_path / "photo.png"
    fake.write_text("not really a picture")
    assert await run_admin_cli_as_admin(cloud_server, "assets", "upload", str(fake)) == 2
    assert capsys.readouterr().err == "error: INVALID_ARGUMENT: chunk: the file is not a PNG, JPEG or SVG image\n"
