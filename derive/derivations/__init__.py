"""The derivations: ``pairs.derive(loss, activation)`` (the one entry; scalar pairs here, softmax in
``softmax``), ``matching`` (the loss that makes δ = a − y), ``shift`` (softmax shift invariance) and
``backprop`` (the four equations of backpropagation).  Each returns a proven trace of ``derive.engine``.
"""
