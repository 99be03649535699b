"""The engine: derive's notation, the trace types, proofs, the index-notation normal form, analysis.

Everything above builds on these: ``notation`` (the symbols of the README's notation), ``steps`` (``Step``,
``Derivation``, ``Synthesis``, ``Trace``), ``proof`` (sound zero tests), ``indexed`` (sums over K
classes in a normal form), ``checking`` (every step of a trace proven before it is shown) and
``analysis`` (cancellation, saturation, the slowdown bound).
"""
