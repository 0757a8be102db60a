"""Hugging Face Hub access shared by the download, push and pull stages.

* :mod:`ddcf.hub.repo`: a repo option (a Hub id, a local folder laid out like the repo, or a repo in the
  local Hub cache when offline) -> a local folder; every Hub error becomes one :class:`DDCFError`;
* :mod:`ddcf.hub.schemas`: the published column names and how they map to ours (the only place);
* :mod:`ddcf.hub.corpus_csv`: the full-corpus CSV streamed into the layout's Parquet;
* :mod:`ddcf.hub.cards`: the README cards of what ``ddcf push`` publishes;
* :mod:`ddcf.hub.folder`: a folder written atomically (the push staging folder, the pulled predictor).
"""
