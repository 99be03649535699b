"""Numeric code: stable closed forms proven equal to the derivation (``stable``), standalone NumPy and
JAX modules generated from them (``codegen``, ``module_templates``) and the gradient check (``gradcheck``)."""
