"""Label-name embeddings: what a text encoder says a class is from its name alone.

Shared by the zero-shot classifier (:class:`transferkit.ZeroShotClassifier`), the label-name
prior of the ``"prototypes"`` strategy and the label-name rows of the ``"probe"`` strategy.
Everything here uses the encoder itself and nothing else: no word list, no download.

* **Prompts.** A label name becomes the texts of one or more templates (``"This is about
  {}."``); the label's embedding is the mean of their unit-length embeddings.
* **Template ensemble** (:data:`TEMPLATE_ENSEMBLE`): generic templates averaged, which smooths
  the wording of any one of them (Radford et al. 2021, CLIP, section 3.1.4, prompt
  ensembling, https://arxiv.org/abs/2103.00020).
* **Vocabulary neighbours** (:func:`vocabulary_neighbours`): a label whose name is one word is
  widened with the words of the tokenizer's own vocabulary nearest to it in the encoder's
  space and nearer to it than to any other label (``positive`` -> ``cheerful``, ``praises``...),
  in the manner of the label-word expansion of KPT (Hu et al. 2022,
  https://arxiv.org/abs/2108.02035), with the encoder instead of an external knowledge base.
  A name of several words is a phrase no single word stands for; it is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..backbones.base import Backbone
from ..data import Dataset, as_dataset
from ..exceptions import ConfigError
from ..features import extract_features
from ..utils.defaults import BATCH_SIZE

__all__ = ["TEMPLATE", "TEMPLATE_ENSEMBLE", "NEIGHBOUR_MIN_COSINE", "data_label_names",
           "check_label_prior", "parse_label_prior",
           "embed_prompts", "humanize", "label_name_embeddings", "softmax", "unit",
           "vocabulary_neighbours", "vocabulary_words"]

#: the single template used when no ensemble is asked for
TEMPLATE = "This is about {}."
#: generic templates averaged by the template ensemble (none names a task or a domain)
TEMPLATE_ENSEMBLE = ("This is about {}.", "{}", "This is {}.", "It is {}.", "It was {}.",
                     "A {} one.", "Overall, it was {}.", "In short: {}.")
#: a vocabulary word joins a label only if its cosine similarity with the name is at least this
NEIGHBOUR_MIN_COSINE = 0.4
_WORD = re.compile(r"[a-z]{3,}")
#: vocabulary embeddings of the last backbones asked, so that fits in one process embed the
#: vocabulary once even without the disk cache
_VOCAB_MEMO: dict[tuple[str, int], tuple[list[str], np.ndarray]] = {}
_VOCAB_MEMO_SIZE = 2


def unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X / (np.linalg.norm(X, axis=-1, keepdims=True) + 1e-12)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def humanize(label: Any) -> str:
    """The text form of a label name: ``"card_arrival"`` -> ``"card arrival"``."""
    return " ".join(str(label).replace("_", " ").replace("-", " ").split())


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def data_label_names(data: Dataset) -> list[str] | None:
    """The names of the sorted classes of ``data`` as text, or ``None`` when they do not read
    as names (integer codes without ``meta["label_names"]``, empty strings)."""
    classes = np.unique(data.labels)
    names = data.meta.get("label_names")
    if names:
        lookup = {str(k): str(v) for k, v in names.items()}
        if all(str(_plain(c)) in lookup for c in classes):
            return [humanize(lookup[str(_plain(c))]) for c in classes]
        return None
    if classes.dtype.kind in "iubf" or not all(str(c).strip() for c in classes):
        return None
    return [humanize(c) for c in classes]


def _embed(backbone: Backbone, texts: Sequence[str], layer: int, batch_size: int,
           cache: bool) -> np.ndarray:
    """Unit embeddings of ``texts``, through the feature cache when ``cache``."""
    return unit(extract_features(backbone, as_dataset(list(texts)), layer=layer,
                                 batch_size=batch_size, cache=cache, progress=False))


def _group_means(backbone: Backbone, groups: Sequence[Sequence[str]], layer: int,
                 batch_size: int, cache: bool = False) -> np.ndarray:
    """Mean unit embedding of each group of texts (not re-normalised), ``(G, F)``."""
    texts = [t for ts in groups for t in ts]
    E = _embed(backbone, texts, layer, batch_size, cache)
    out, i = [], 0
    for ts in groups:
        out.append(E[i : i + len(ts)].mean(0))
        i += len(ts)
    return np.stack(out)


def embed_prompts(
    backbone: Backbone, prompts: Mapping[Any, Sequence[str]], layer: int = -1,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """One unit vector per label: the normalised mean of its prompts' unit embeddings.

    Args:
        backbone: a text backbone.
        prompts: label -> its texts (at least one each), in the order of the result's rows.
        layer: feature layer.
        batch_size: texts per forward pass.

    Returns:
        ``(n_labels, F)`` float32, rows of unit length.
    """
    if not prompts or any(not ts for ts in prompts.values()):
        raise ConfigError("Every label needs at least one prompt text to embed.")
    return unit(_group_means(backbone, list(prompts.values()), layer, batch_size))


def vocabulary_words(backbone: Backbone) -> list[str] | None:
    """The whole words of the backbone's tokenizer (lower-case letters, 3 or more), sorted;
    ``None`` for a backbone without a tokenizer vocabulary."""
    tok = getattr(backbone, "tokenizer", None)
    vocab = getattr(tok, "get_vocab", None)
    if vocab is None:
        return None
    return sorted(w for w in vocab() if _WORD.fullmatch(w))


def _vocabulary_embeddings(backbone: Backbone, layer: int, batch_size: int, cache: bool
                           ) -> tuple[list[str], np.ndarray]:
    words = vocabulary_words(backbone)
    if not words:
        return [], np.zeros((0, backbone.num_features), np.float32)
    key = (backbone.fingerprint(), int(layer))
    if key not in _VOCAB_MEMO:
        V = _embed(backbone, words, layer, batch_size, cache)
        while len(_VOCAB_MEMO) >= _VOCAB_MEMO_SIZE:
            _VOCAB_MEMO.pop(next(iter(_VOCAB_MEMO)))
        _VOCAB_MEMO[key] = (words, V)
    return _VOCAB_MEMO[key]


def vocabulary_neighbours(
    backbone: Backbone, names: Sequence[str], k: int, layer: int = -1,
    batch_size: int = BATCH_SIZE, cache: bool = True,
    min_cosine: float = NEIGHBOUR_MIN_COSINE,
) -> list[list[str]]:
    """Up to ``k`` vocabulary words for each one-word name; ``[]`` for the other names.

    A word qualifies for name ``l`` when its embedding is closer (cosine) to ``l``'s than to
    any other name's, and its cosine with ``l`` is at least ``min_cosine``; the ``k`` with the
    largest margin over the closest other name are kept. The words are embedded once (the
    feature cache keeps them; about 21,000 for BERT's vocabulary).
    """
    single = [i for i, n in enumerate(names) if _WORD.fullmatch(n.lower())]
    out: list[list[str]] = [[] for _ in names]
    if k <= 0 or not single:
        return out
    words, V = _vocabulary_embeddings(backbone, layer, batch_size, cache)
    if not words:
        return out
    N = _embed(backbone, [n.lower() for n in names], layer, batch_size, cache)
    S = V @ N.T
    for i in single:
        others = np.delete(S, i, axis=1).max(1) if S.shape[1] > 1 else np.zeros(len(S))
        margin = S[:, i] - others
        ok = (margin > 0) & (S[:, i] >= min_cosine)
        ok[[j for j, w in enumerate(words) if w == names[i].lower()]] = False
        idx = np.flatnonzero(ok)
        out[i] = [words[j] for j in idx[np.argsort(-margin[idx], kind="stable")][:k]]
    return out


def label_name_embeddings(
    backbone: Backbone, names: Sequence[str], templates: Sequence[str],
    neighbours: Sequence[Sequence[str]] | None = None, layer: int = -1,
    batch_size: int = BATCH_SIZE, cache: bool = False,
) -> np.ndarray:
    """Unit embedding of each name: the mean over ``templates`` of the name's prompts, plus
    (with equal total weight) the mean over its neighbour words in the same templates. With
    ``cache``, the prompts' embeddings go through the feature cache like any other text.

    Returns:
        ``(len(names), F)`` float32, rows of unit length.
    """
    groups = [[t.format(n) for t in templates] for n in names]
    M = _group_means(backbone, groups, layer, batch_size, cache)
    nb = [list(ws) for ws in (neighbours or [])]
    with_nb = [i for i, ws in enumerate(nb) if ws]
    if with_nb:
        extra = _group_means(backbone, [[t.format(w) for w in nb[i] for t in templates]
                                        for i in with_nb], layer, batch_size, cache)
        M[with_nb] = M[with_nb] + extra
    return unit(M)


def check_label_prior(owner: str, value: Any) -> None:
    """The ``label_prior`` parameter (probe, prototypes): ``'auto'``, True or False."""
    if value not in ("auto", True, False):
        raise ConfigError(f"The 'label_prior' parameter of {owner} must be 'auto', True or "
                          f"False. Got {value!r} instead.")


def parse_label_prior(text: str) -> bool | str:
    """``--label-prior true|false|auto`` as the parameter's value."""
    return {"true": True, "false": False}.get(text.strip().lower(), text)
