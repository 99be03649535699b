"""derive.derivations.store: derivations kept on disk come back equal, and only for the same derive."""

from __future__ import annotations

import io
import pickle

import pytest

import derive
from derive import catalog
from derive.derivations import pairs, store
from derive.render import latex

OPTIONS = [{"label_smoothing": "1/10"}, {"label_smoothing": True, "class_weights": True}, {"classes": 3}]
CASES = [(loss, act, {}) for loss, act in catalog.pairs(valid=True)]
CASES += [("cross_entropy", "softmax", options) for options in OPTIONS]


def _round_trip(value: object) -> object:
    buffer = io.BytesIO()
    store._Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return pickle.loads(buffer.getvalue())


@pytest.mark.parametrize(("loss", "act", "options"), CASES, ids=lambda v: str(v) if v else "")
def test_every_derivation_comes_back_equal(loss, act, options):
    d = pairs.derive(loss, act, **options)
    back = _round_trip(d)
    assert back == d and back.steps == d.steps
    assert latex.latex(back, "fragment") == latex.latex(d, "fragment")


def test_saved_loaded_and_only_for_the_same_derive(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENV, str(tmp_path))
    d = pairs.derive("bce", "sigmoid")
    key = store.key(catalog.loss("bce"), catalog.activation("sigmoid"), None, None, False)
    store.save(key, d)
    assert store.load(key) == d
    [written] = list(tmp_path.glob("*/*.pickle"))
    assert written.parent.name == store.fingerprint()
    monkeypatch.setattr(store, "fingerprint", lambda: "another-derive")
    assert store.load(key) is None  # another version of derive never reads it
    monkeypatch.undo()
    monkeypatch.setenv(store.ENV, str(tmp_path))
    written.write_bytes(b"not a pickle")
    assert store.load(key) is None  # a broken file: derived again
    other = store.key(catalog.loss("quadratic"), catalog.activation("sigmoid"), None, None, False)
    written.write_bytes(pickle.dumps((other, "something else")))
    assert store.load(key) is None  # a file under the wrong name is not taken


def test_off_and_user_formulas_store_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENV, "off")
    assert store.directory() is None
    store.save(("derivation", "x"), 1)
    assert store.load(("derivation", "x")) is None
    user = derive.Loss.from_latex(r"L(a, y) = \frac{1}{2}(a-y)^2 + \lambda a^2")
    assert store.key(user, catalog.activation("sigmoid"), None, None, False) is None
    monkeypatch.setenv(store.ENV, str(tmp_path / "unwritable" / "x"))
    (tmp_path / "unwritable").write_text("a file where a folder should be")
    store.save(("derivation", "y"), 1)  # no error: the cache only saves time
