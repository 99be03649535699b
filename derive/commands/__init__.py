"""The ``derive`` commands, grouped by what they do; :mod:`derive.cli` gathers them into one program,
importing each module when one of its commands runs.

- :mod:`~derive.commands.basics`: the error handling, JSON, files and folders (no SymPy: quick to load);
- :mod:`~derive.commands.options`: the options the pair commands share (``LOSS ACTIVATION``, ``--loss``,
  ``--catalog``, the notation symbols, ``-o/--output FILE`` checked against what is written);
- :mod:`~derive.commands.derivations`: ``list``, ``show``, ``table``, ``match``, ``shift``, ``backprop``;
- :mod:`~derive.commands.documents`: ``latex`` and ``gallery``;
- :mod:`~derive.commands.slowdown`: ``slowdown``;
- :mod:`~derive.commands.exporting`: ``export``;
- :mod:`~derive.commands.verifying`: ``verify``.
"""
