"""Few-shot and zero-shot transfer: label-name embeddings, prototypes, contrastive tuning.

* :class:`transferkit.ZeroShotClassifier` — no examples: labels by their names or
  descriptions (the arithmetic in :mod:`.zeroshot`); names are embedded with a template
  ensemble and, for one-word names, the tokenizer-vocabulary words nearest to them in the
  encoder's own space (:mod:`transferkit.strategies.label_names`).
* strategy ``"probe"`` — for text whose labels read as names, each label name's embedding is
  one extra training example of its class (``label_prior``); ``zeroshot_weight`` mixes in the
  zero-shot probabilities; ``fit(..., unlabelled=texts)`` with ``self_train`` adds the most
  confident pseudo-labelled texts and refits (transductive if the texts are the test inputs).
* strategy ``"prototypes"`` — nearest class mean, optionally with label-name priors.
* strategy ``"contrastive"`` — SetFit-style pair tuning of the encoder, then a head.

N-shot protocol. ``TransferClassifier(shots=N, seed=s)`` (CLI: ``--shots N --seed s``) fits
on :func:`transferkit.data.sample_shots` ``(train, N, s)``: for each class, in sorted class
order, the first N rows of one ``numpy.random.default_rng(s)`` permutation of that class's
training rows — N per class, without replacement, from the training split only (the test
split is never touched), the same rows for the same seed on every machine, and nested (the
4-shot sample lies inside the 8-shot sample of the same seed). A class with fewer than N
examples raises ``DataError`` naming it and its count.

This is the distribution MTEB and SetFit sample from, so the numbers compare:

* MTEB classification (``AbsTaskClassification``): ``n_experiments=10`` draws of
  ``samples_per_label=8`` per label from the train split (``np.random.seed(42)`` once, then
  each draw shuffles the row indices in place and keeps the first 8 of each label),
  ``LogisticRegression(max_iter=100)`` on the embeddings, accuracy on the full test set,
  mean over the 10 draws;
* SetFit: ``sample_dataset(train, num_samples=N, seed)`` (shuffle with the seed, first N per
  label), several seeds, the full test set.

Our seeds 0..9 draw different rows than MTEB's seed-42 chain, but from the same
distribution; ``benchmarks/bench_fewshot.py`` runs both samplers side by side.
"""

from .contrastive import ContrastiveStrategy, contrastive_tune, cosine_similarity_loss
from .labels_file import check_label_names, match_dataset_labels, read_label_file
from .pairs import make_pairs
from .prototypes import PrototypeStrategy
from .zeroshot import embed_prompts

__all__ = [
    "ContrastiveStrategy",
    "PrototypeStrategy",
    "check_label_names",
    "contrastive_tune",
    "cosine_similarity_loss",
    "embed_prompts",
    "make_pairs",
    "match_dataset_labels",
    "read_label_file",
]
