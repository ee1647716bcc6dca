"""Only the optional C part of the build; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[
    # The InfluxDB sink's line-protocol loop (agent/sinks/_lineproto.c). optional: without a
    # C compiler the install goes on and lineproto.py uses its pure-Python path.
    Extension("agent.sinks._lineproto", ["agent/sinks/_lineproto.c"], optional=True,
              extra_compile_args=["-O2"]),
])
