"""``ntp-mechanics corpus``: text in, next-token datasets out (THEORY.md section 10).

Reads UTF-8 files or folders (the embedded ``pydoc_data.topics`` text when none is
given), builds the corpus with :func:`ntp_mechanics.corpora.build_corpus` and writes to
``--out DIR``:

* ``train.npz`` and ``heldout.npz`` - the datasets, in the binary dataset format that
  every command reads (``heldout.npz`` only when the split holds a window);
* ``corpus.json`` - the options, ``K``, ``d``, the window counts (``windows_total``,
  ``windows_out_of_vocabulary``, ``windows_unrealizable``, ``windows`` kept,
  ``distinct_windows``, ``kept_fraction`` = kept / in-vocabulary windows), the
  token-priority graphs of the training windows (``edges``, ``cyclic_edges``,
  ``acyclic_edges``, ``scc_sizes`` as ``{size: number of SCCs}``, ``largest_scc``,
  ``priority_depth``), ``datasets`` (``{"train": path, "heldout": path or null}``),
  ``vocabulary`` (token strings by id), ``timings_s`` (per phase) and ``peak_rss_mb``.

Files are written under temporary names and renamed when all are complete, and an
existing corpus in DIR is replaced only with ``--force``: a failure loses nothing.

Example
-------
``ntp-mechanics corpus --unit char --window 16 --out corpus/char16``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from ntp_mechanics.corpora.build import build_corpus
from ntp_mechanics.corpora.embeddings import parse_spec
from ntp_mechanics.corpora.text import EMBEDDED, CorpusError, embedded_documents, read_documents

HELP = "turn a text (default: an embedded English corpus) into training and held-out datasets"
OUTPUTS = ("corpus.json", "train.npz", "heldout.npz")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("texts", nargs="*", metavar="TEXT",
                   help=f"UTF-8 files or folders of files (default: the embedded {EMBEDDED})")
    p.add_argument("--unit", default="char", help="tokens: char or word (char)")
    p.add_argument("--window", type=int, default=16, metavar="T",
                   help="window length; the last token is the query (16)")
    p.add_argument("--vocab", type=int, default=None, metavar="K",
                   help="keep the K most frequent tokens (default: all)")
    p.add_argument("--oov", default="drop",
                   help="tokens outside the vocabulary: drop their windows, or unk (one "
                        "unknown-token id, the last) (drop)")
    p.add_argument("--embeddings", default="onehot", metavar="SPEC",
                   help="onehot, gaussian:D (unit-norm rows) or PATH[:KEY] of a .npz, "
                        ".safetensors or .pt K x d matrix, row v = token id v (onehot)")
    p.add_argument("--held-out", type=float, default=0.1, metavar="FRACTION",
                   help="fraction of the distinct windows held out (0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and of gaussian:D (0)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="where to write the datasets and corpus.json")
    p.add_argument("--force", action="store_true", help="replace a corpus already in DIR")


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    parse_spec(args.embeddings)  # option errors before any reading
    _check_out(args.out, args.force)
    if args.texts:
        named = read_documents(args.texts)
        docs, source = [t for _, t in named], [p for p, _ in named]
    else:
        docs, source = list(embedded_documents()), [EMBEDDED]
    read_s = time.perf_counter() - t0
    corpus = build_corpus(docs, unit=args.unit, window=args.window, vocab=args.vocab,
                          embeddings=args.embeddings, held_out=args.held_out,
                          seed=args.seed, oov=args.oov)
    t1 = time.perf_counter()
    paths = _write(args.out, corpus, source, read_s, t1)
    s = corpus.stats
    print(f"{paths['corpus.json']}: K={s['K']} d={s['d']} windows={s['windows']} "
          f"(kept {s['kept_fraction']:.1%}, {s['distinct_windows']} distinct: "
          f"{s['train_windows']} train, {s['heldout_windows']} held out) "
          f"edges={s['edges']} (cyclic {s['cyclic_edges']}, acyclic {s['acyclic_edges']}) "
          f"largest SCC {s['largest_scc']}; {time.perf_counter() - t0:.1f} s")
    return 0


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise CorpusError(f"--out {out} exists and is not a directory")
    existing = [f for f in OUTPUTS if (out / f).exists()]
    if existing and not force:
        raise CorpusError(f"--out {out} already holds a corpus ({', '.join(existing)}); "
                          "choose another directory or add --force to replace it")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise CorpusError(f"cannot write to --out {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CorpusError(f"cannot write to --out {out}: {parent} is not writable")


def _write(out: Path, corpus: Any, source: list[str], read_s: float, t1: float
           ) -> dict[str, Path]:
    """Write every file under a temporary name, then rename them all (JSON last)."""
    final = {"train.npz": out / "train.npz", "heldout.npz": out / "heldout.npz",
             "corpus.json": out / "corpus.json"}
    tmp = {k: v.with_name(f".{v.name}.{os.getpid()}.tmp{v.suffix}") for k, v in final.items()}
    try:
        out.mkdir(parents=True, exist_ok=True)
        corpus.train.save(tmp["train.npz"])
        if corpus.heldout is not None:
            corpus.heldout.save(tmp["heldout.npz"])
        timings = {"read": round(read_s, 4), **corpus.timings,
                   "write": round(time.perf_counter() - t1, 4)}
        timings["total"] = round(sum(timings.values()), 4)
        doc = {**corpus.stats,
               "source": source,
               "datasets": {"train": str(final["train.npz"].resolve()),
                            "heldout": str(final["heldout.npz"].resolve())
                            if corpus.heldout is not None else None},
               "timings_s": timings,
               "peak_rss_mb": round(_peak_rss_mb(), 1),
               "vocabulary": list(corpus.vocabulary)}
        tmp["corpus.json"].write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        stale = final["heldout.npz"]
        if corpus.heldout is None and stale.exists():
            stale.unlink()  # --force: a previous corpus's held-out set is not this one's
        for key in ("train.npz", "heldout.npz", "corpus.json"):
            if tmp[key].exists():
                os.replace(tmp[key], final[key])
    except OSError as exc:
        raise CorpusError(f"cannot write to --out {out}: {exc.strerror or exc}") from None
    finally:
        for p in tmp.values():
            p.unlink(missing_ok=True)
    return final


def _peak_rss_mb() -> float:
    """This process's peak resident memory: ``VmHWM`` where Linux has it (``ru_maxrss``
    also counts the parent's memory at fork), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1 << 20) if sys.platform == "darwin" else kb / 1024
