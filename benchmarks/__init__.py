"""jaxrnn's benchmark suite: ``python -m benchmarks {quick,deepbench,scaling}``.

See ``benchmarks/README.md``. Modules: ``problems`` (suites and sizes), ``impls`` (jaxrnn
and every peer, built on the same inputs; compile time, memory), ``measure`` (the GEMM
floor, fitted exponents), ``report`` (terminal table, JSON, Markdown, plots) and ``cli``
(the command). The interleaved timer is ``jaxrnn._timing``, shared with ``jaxrnn compare``.
"""
