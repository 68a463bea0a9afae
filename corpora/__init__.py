"""Real text in: corpora turned into next-token datasets (THEORY.md section 10).

A corpus is tokenised (characters or words), cut into windows of length T whose last
token is the query and whose next token is the label, filtered to the windows whose
label occurs in them (the realizable ones), merged with counts, split into training and
held-out windows, and given embeddings.  The same layer as the generators: it imports
only :mod:`ntp_mechanics.model`.

* :mod:`ntp_mechanics.corpora.text` - the embedded corpus, reading files, tokenising,
  the vocabulary.
* :mod:`ntp_mechanics.corpora.windows` - windows, realizability filter, held-out split.
* :mod:`ntp_mechanics.corpora.embeddings` - ``onehot``, ``gaussian:D`` or a user's matrix.
* :mod:`ntp_mechanics.corpora.build` - :func:`build_corpus`, all of the above in one call.
* :mod:`ntp_mechanics.corpora.strategies` - a Hypothesis strategy of small datasets cut
  from the embedded corpus (imports Hypothesis; import it directly).
"""

from ntp_mechanics.corpora.build import Corpus, build_corpus
from ntp_mechanics.corpora.text import CorpusError

__all__ = ["Corpus", "CorpusError", "build_corpus"]
