"""Regenerate the Python bindings of protos/ into cartads/v1, or check that they are fresh.

python scripts/gen_protos.py           # regenerate
python scripts/gen_protos.py --check   # exit 1 if the committed bindings differ
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT_PACKAGE = Path("cartads") / "v1"
OUT_ROOT = ROOT
INIT_TEXT = '"""Generated from protos/cartads/v1 by scripts/gen_protos.py; do not edit."""\n'


def generate(out_root: Path) -> None:
    """Run protoc (from grpcio-tools) with message, stub and gRPC outputs into out_root."""
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / OUT_PACKAGE).glob("*.proto"))
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"--plugin=protoc-gen-mypy_grpc={Path(sys.executable).parent / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *protos,
    ]
    subprocess.run(cmd, check=True, cwd=ROOT)
    (out_root / OUT_PACKAGE / "__init__.py").write_text(INIT_TEXT)


def differences(expected: Path, actual: Path) -> list[str]:
    """Names of files that differ between two generated trees."""
    names = {p.name for p in expected.iterdir()} | {p.name for p in actual.iterdir() if p.is_file()}
    names.discard("__pycache__")
    out = []
    for name in sorted(names):
        a, b = expected / name, actual / name
        if not (a.exists() and b.exists() and filecmp.cmp(a, b, shallow=False)):
            out.append(name)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the bindings are fresh")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_root = Path(tmp)
        (tmp_root / OUT_PACKAGE).mkdir(parents=True)
        generate(tmp_root)
        fresh = tmp_root / OUT_PACKAGE
        committed = OUT_ROOT / OUT_PACKAGE
        if args.check:
            stale = differences(fresh, committed) if committed.exists() else ["(missing)"]
            if stale:
                print("stale bindings, run: python scripts/gen_protos.py:", ", ".join(stale))
                return 1
            print("bindings are fresh")
            return 0
        if committed.exists():
            shutil.rmtree(committed)
        shutil.copytree(fresh, committed)
        print(f"wrote {committed.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
