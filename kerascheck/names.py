"""Canonical names: map a dotted import path to the Keras (or NumPy) object it denotes.

Every spelling a user may write (``keras.layers.GRU``, ``tf.keras.layers.GRU``,
``keras.layers.recurrent.GRU``, ``tf_keras.layers.GRU``, ``CuDNNGRU`` ...) resolves to one
canonical name, so the rest of the analyzer never looks at spellings again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# Dotted prefixes under which Keras lives, longest first.
_KERAS_ROOTS: tuple[tuple[str, ...], ...] = (
    ("tensorflow", "compat", "v1", "keras"),
    ("tensorflow", "compat", "v2", "keras"),
    ("tensorflow", "python", "keras"),
    ("tensorflow", "contrib", "keras"),
    ("tensorflow", "keras"),
    ("tf_keras",),
    ("keras",),
)

# Keras 2's GPU-only spellings: Keras 3 builds them as the plain layer (the verifier says so).
GPU_ONLY = frozenset({"CuDNNGRU", "CuDNNLSTM"})

# Spellings that name the same class as another one.
_ALIASES: dict[str, str] = {
    "CuDNNGRU": "GRU",
    "CuDNNLSTM": "LSTM",
    "MaxPool1D": "MaxPooling1D",
    "AvgPool1D": "AveragePooling1D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "SeparableConvolution2D": "SeparableConv2D",
    "Convolution2DTranspose": "Conv2DTranspose",
    "MaxPool2D": "MaxPooling2D",
    "AvgPool2D": "AveragePooling2D",
    "MaxPool3D": "MaxPooling3D",
    "AvgPool3D": "AveragePooling3D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "InputLayer": "InputLayer",
}

# The functional merge helpers of keras.layers: ``concatenate([a, b])`` builds the class and
# applies it at once.
MERGE_FUNCTIONS: dict[str, str] = {
    "concatenate": "Concatenate",
    "add": "Add",
    "subtract": "Subtract",
    "multiply": "Multiply",
    "average": "Average",
    "maximum": "Maximum",
    "minimum": "Minimum",
    "dot": "Dot",
}
# Modules that hold them under a Keras root (Keras 2 kept them in keras.layers.merge).
_MERGE_MODULES = (("layers",), ("layers", "merge"), ("layers", "merging"))

# Other spellings of the builtins the interpreter models: six.moves and its kin for Python 2.
_BUILTIN_MODULES = frozenset({"six.moves", "builtins", "future.builtins", "past.builtins"})
_BUILTIN_SPELLINGS: dict[str, str] = {"xrange": "range", "izip": "zip"}
MODELLED_BUILTINS = frozenset({"len", "range", "enumerate", "zip", "list", "tuple", "int"})

# Keras objects that are not layers but matter to the analysis.
MODEL_CLASSES = frozenset({"Sequential", "Model"})
INPUT_FUNCTION = "Input"
TO_CATEGORICAL = "to_categorical"
LAYER_BASE = "Layer"

# NumPy functions that make arrays of a literal shape (for fit targets), or of the shape of what
# they are given (``array``, ``asarray``: an array, or nested lists of numbers).
NUMPY_ARRAY_MAKERS = frozenset(
    {
        "array",
        "asarray",
        "zeros",
        "ones",
        "empty",
        "full",
        "random.random",
        "random.rand",
        "random.randn",
        "random.randint",
        "random.normal",
        "random.uniform",
        "random.random_sample",
        "random.sample",
        "random.standard_normal",
    }
)


@dataclass(frozen=True)
class KerasName:
    """A resolved Keras object: ``name`` is canonical, ``spelled`` is the last path part."""

    name: str
    spelled: str


@lru_cache(maxsize=4096)
def keras_name(path: str) -> KerasName | None:
    """Return the Keras object a dotted path denotes, or None when it is not Keras'.

    Cached: a file names the same few paths over and over.
    """
    parts = tuple(path.split("."))
    for root in _KERAS_ROOTS:
        if parts[: len(root)] == root and len(parts) > len(root):
            last = parts[-1]
            return KerasName(_ALIASES.get(last, last), last)
    return None


@lru_cache(maxsize=1024)
def is_keras_module(path: str) -> bool:
    """True for a path that is Keras itself or a module inside it (for star imports)."""
    parts = tuple(path.split("."))
    return any(parts[: len(root)] == root for root in _KERAS_ROOTS)


def numpy_function(path: str) -> str | None:
    """``numpy.random.rand`` -> ``random.rand`` when it makes an array of a given shape."""
    if not path.startswith("numpy."):
        return None
    rest = path[len("numpy.") :]
    return rest if rest in NUMPY_ARRAY_MAKERS else None


# Built-in losses, by every name compile() accepts, mapped to one canonical name.
_LOSS_CLASSES: dict[str, str] = {
    "MeanSquaredError": "mean_squared_error",
    "MeanAbsoluteError": "mean_absolute_error",
    "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
    "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error",
    "CategoricalCrossentropy": "categorical_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
    "BinaryCrossentropy": "binary_crossentropy",
    "BinaryFocalCrossentropy": "binary_focal_crossentropy",
    "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
    "KLDivergence": "kl_divergence",
    "Poisson": "poisson",
    "LogCosh": "log_cosh",
    "Huber": "huber",
    "Hinge": "hinge",
    "SquaredHinge": "squared_hinge",
    "CategoricalHinge": "categorical_hinge",
    "CosineSimilarity": "cosine_similarity",
}
_LOSS_ALIASES: dict[str, str] = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "logcosh": "log_cosh",
    "huber_loss": "huber",
}
_LOSS_FUNCTIONS = frozenset(_LOSS_CLASSES.values())
SPARSE_LOSSES = frozenset({"sparse_categorical_crossentropy"})


def builtin_loss(name: str) -> str | None:
    """Canonical name of a built-in Keras loss given by string, function or class name."""
    if name in _LOSS_CLASSES:
        return _LOSS_CLASSES[name]
    lowered = name.lower()
    lowered = _LOSS_ALIASES.get(lowered, lowered)
    return lowered if lowered in _LOSS_FUNCTIONS else None


@lru_cache(maxsize=1024)
def merge_function(path: str) -> str | None:
    """``keras.layers.concatenate`` -> ``Concatenate``: the class a merge helper builds, or None
    (``keras.backend.concatenate`` and ``keras.ops.add`` are tensor functions, not layers)."""
    parts = tuple(path.split("."))
    for root in _KERAS_ROOTS:
        if parts[: len(root)] == root:
            module, last = parts[len(root) : -1], parts[-1]
            return MERGE_FUNCTIONS.get(last) if module in _MERGE_MODULES else None
    return None


def builtin_function(path: str) -> str | None:
    """``six.moves.range`` -> ``range``: a builtin the interpreter models, by another path."""
    module, _, name = path.rpartition(".")
    if module not in _BUILTIN_MODULES:
        return None
    name = _BUILTIN_SPELLINGS.get(name, name) if module != "builtins" else name
    return name if name in MODELLED_BUILTINS else None
