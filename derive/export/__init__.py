"""Numeric code: stable closed forms proven equal to the derivation (``stable``), standalone NumPy,
JAX and PyTorch modules generated from them (``codegen``, ``module_templates``) and the gradient check
(``gradcheck``), which runs a written module file in a process of its own (``isolated``)."""
