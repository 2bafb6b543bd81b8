"""Generated from protos/cartads/v1 by scripts/gen_protos.py; do not edit."""
