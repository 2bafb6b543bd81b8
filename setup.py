"""Build hook for the optional C accelerator; everything else is declared in pyproject.toml.

``optional=True``: on a machine without a C compiler the extension is skipped and the edge uses
its pure-Python merge (edge_node/rank_merge.py), with the same results.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("edge_node._rankmerge", ["src/edge_node/_rankmerge.c"], optional=True),
    ]
)
