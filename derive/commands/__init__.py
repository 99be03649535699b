"""The ``derive`` commands, grouped by what they do; :mod:`derive.cli` gathers them into one program.

- :mod:`~derive.commands.options`: the error handling and the options every command shares
  (``-o/--output FILE`` is one file, ``-d/--directory DIR`` a folder, the notation symbols);
- :mod:`~derive.commands.derivations`: ``list``, ``show``, ``table``, ``match``, ``shift``, ``backprop``;
- :mod:`~derive.commands.documents`: ``latex`` and ``gallery``;
- :mod:`~derive.commands.slowdown`: ``slowdown``.
"""
