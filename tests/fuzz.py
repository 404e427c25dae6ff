"""Keras-looking programs for the fuzz test: every model form, many layers, odd layouts.

``program(rng)`` gives a Python text whose findings nobody wrote down: the fuzz test holds the
tool to properties (no crash, fixes that parse, keep every other byte and settle, flake8 and
the CLI agreeing), not to expected findings.
"""

from __future__ import annotations

import random

RNNS = ["LSTM", "GRU", "SimpleRNN"]
SHAPES = ["(30, 8)", "(None, 8)", "(12, 4)"]


def _rnn(rng: random.Random, p: str, sequences: bool | None) -> str:
    units = rng.choice([4, 16, 32])
    kind = rng.choice(RNNS)
    if rng.random() < 0.15:
        cell = f"{p}{kind}Cell({units})" if kind != "SimpleRNN" else f"{p}SimpleRNNCell({units})"
        if sequences is None:
            return f"{p}RNN({cell})"
        return f"{p}RNN({cell}, {sequences})" if rng.random() < 0.5 else f"{p}RNN({cell}, return_sequences={sequences})"
    extra = rng.choice(
        [
            "",
            ", dropout=0.1",
            ",\n        dropout=0.2,",
            ", activation='tanh' ",
            ",\n        recurrent_dropout=0.1\n    ",
        ]
    )
    flag = "" if sequences is None else f", return_sequences={sequences}"
    core = f"{p}{kind}({units}{flag}{extra})"
    if rng.random() < 0.15:
        return f"{p}Bidirectional({core})"
    return core


def _layer(rng: random.Random, p: str) -> str:
    choice = rng.random()
    if choice < 0.45:
        return _rnn(rng, p, rng.choice([None, True, False]))
    if choice < 0.65:
        return f"{p}TimeDistributed({p}Dense({rng.choice([1, 3, 8])}))"
    return rng.choice(
        [
            f"{p}Dense({rng.choice([1, 4, 10])})",
            f"{p}Dropout(0.2)",
            f"{p}RepeatVector({rng.choice([5, 30])})",
            f"{p}GlobalAveragePooling1D()",
            f"{p}Flatten()",
            f"{p}BatchNormalization()",
        ]
    )


def _imports(rng: random.Random) -> tuple[str, str]:
    """An import header and the prefix its layer names take."""
    style = rng.randrange(4)
    if style == 0:
        return "import keras\nfrom keras import layers\n", "layers."
    if style == 1:
        return "import keras\nfrom keras import layers as L\n", "L."
    if style == 2:
        return "import tensorflow as tf\nkeras = tf.keras\n", "tf.keras.layers."
    names = "LSTM, GRU, SimpleRNN, RNN, LSTMCell, GRUCell, SimpleRNNCell, Bidirectional, TimeDistributed"
    names += ", Dense, Dropout, RepeatVector, GlobalAveragePooling1D, Flatten, BatchNormalization"
    return f"import keras\nfrom keras.layers import {names}\n", ""


def _model(rng: random.Random, p: str, n: int) -> str:
    stack = [_layer(rng, p) for _ in range(rng.randint(1, 5))]
    shape = rng.choice(SHAPES)
    form = rng.randrange(5)
    if form == 0:
        body = "".join(f"    {layer},\n" for layer in stack)
        return f"m{n} = keras.Sequential([\n    keras.Input(shape={shape}),\n{body}])\n"
    if form == 1:
        adds = "".join(f"m{n}.add({layer})\n" for layer in stack)
        return f"m{n} = keras.Sequential()\nm{n}.add(keras.Input(shape={shape}))\n{adds}"
    if form == 2:
        lines = "".join(f"x{n} = {layer}(x{n})\n" for layer in stack)
        return f"i{n} = keras.Input(shape={shape})\nx{n} = i{n}\n{lines}m{n} = keras.Model(i{n}, x{n})\n"
    if form == 3:
        inits = "".join(f"        self.l{k} = {layer}\n" for k, layer in enumerate(stack))
        calls = "".join(f"        x = self.l{k}(x)\n" for k in range(len(stack)))
        return (
            f"class M{n}(keras.Model):\n    def __init__(self):\n        super().__init__()\n{inits}\n"
            f"    def call(self, x):\n{calls}        return x\n\n\nm{n} = M{n}()\nm{n}(keras.Input(shape={shape}))\n"
        )
    body = "".join(f"    x = {layer}(x)\n" for layer in stack)
    return f"def build{n}():\n    i = keras.Input(shape={shape})\n    x = i\n{body}    return keras.Model(i, x)\n"


def _noise(rng: random.Random) -> str:
    """A statement or comment that changes nothing about the models, some of them odd."""
    return rng.choice(
        [
            "# a comment\n",
            "x = 1  # noqa\n",
            "s = 'form\\x0cfeed'\n",
            "# a form feed \x0c in a comment\n",
            "# a line separator \u2028 in a comment\n",
            "t = 'a \u2029 paragraph separator'\n",
            "# \x0b \x1c \x1d \x1e \x85 in a comment\n",
            "deep = " + " and ".join(["a"] * 1500) + "\n",
            "nested = " + "(" * 40 + "1" + ")" * 40 + "\n",
            "total = " + " + ".join(["1"] * 300) + "\n",
            "\n",
            "if True:\n\tpass\n",
        ]
    )


def program(rng: random.Random) -> str:
    """A program: imports, a few models of any form, noise between them, noqa here and there."""
    header, p = _imports(rng)
    parts = [header]
    for n in range(rng.randint(1, 3)):
        if rng.random() < 0.5:
            parts.append(_noise(rng))
        model = _model(rng, p, n)
        if rng.random() < 0.2:
            lines = model.split("\n")
            k = rng.randrange(len(lines))
            if lines[k].strip() and not lines[k].rstrip().endswith((",", "(", "[", ":")):
                lines[k] += rng.choice(["  # noqa", "  # noqa: KER103", "  # noqa: KER101,KER102"])
            model = "\n".join(lines)
        parts.append(model)
    return "".join(parts)


def layout(rng: random.Random, text: str) -> tuple[str, bytes]:
    """``text`` in one of the layouts files come in: the text to analyse and the file's bytes."""
    choice = rng.randrange(8)
    if choice == 0:
        text = text.replace("\n", "\r\n")
    elif choice == 1:
        text = text.replace("\n", "\r")
    elif choice == 2:
        text = text.replace("\n    ", "\n\t").replace("\n\t    ", "\n\t\t")  # tabs (blocks of one level)
    elif choice == 3:
        text = text.rstrip("\n")  # no final newline
    elif choice == 4:
        text = "\x0c" + text.replace("\n\n", "\n\x0c\n")  # form feeds between statements
    elif choice == 5:
        return text, b"\xef\xbb\xbf" + text.encode("utf-8")  # a BOM
    return text, text.encode("utf-8")
