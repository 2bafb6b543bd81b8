"""Build hook for the edge's optional C accelerators; everything else is in pyproject.toml.

``optional=True``: on a machine without a C compiler an extension is skipped and the edge uses
its pure-Python twin, with the same results (edge_node/serving/accelerators.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("edge_node.serving._rankmerge", ["edge_node/serving/_rankmerge.c"], optional=True),
        Extension("edge_node.serving._response_wire", ["edge_node/serving/_response_wire.c"], optional=True),
    ]
)
