"""jaxrnn's benchmark suite: ``python -m benchmarks {quick,deepbench,scaling}``.

See ``benchmarks/README.md``. Modules: ``problems`` (suites and sizes), ``impls`` (jaxrnn
and every peer, built on the same inputs), ``measure`` (interleaved timing, the GEMM
floor, compile time, memory), ``report`` (terminal table, JSON, Markdown, plots) and
``cli`` (the command).
"""
