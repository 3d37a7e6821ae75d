"""The framework-neutral bodies of ``jaxrnn.linen`` and ``jaxrnn.nnx``.

A Linen or NNX class declares its parameters and state in its framework's idiom and
inherits everything else from a mixin here:

  options.py  the keyword sets both frameworks share (cell options, call keywords),
              each declared once, and their run-time check.
  kernel.py   everything the layers know about ``jaxrnn.kernels``: the kernel cells,
              their metadata (three helpers: the one place to change when the cell
              objects change) and the two kernel calls.
  cells.py    FusedCellBody (step, ``sequence``, parameter shapes and initializers,
              carry) and one mixin per cell kind.
  rnn.py      RNNBody and BidirectionalBody: argument resolution, the fused and the
              generic path, output order.
  stack.py    StackBody and LayerBody: layers, directions, dropout between layers.

Each mixin's docstring names the attributes and hooks the framework's class provides.
Linen wraps only the methods a class defines itself, so a Linen class lists the mixin
methods Flax must call in its module context (``__call__ = FusedCellBody.__call__``).
No gate math lives here (that is ``jaxrnn.kernels``).
"""
