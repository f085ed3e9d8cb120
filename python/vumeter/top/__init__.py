"""``vumeter top``: a live terminal view of the metrics of one or more workers.

Layers, bottom up: :mod:`~vumeter.top.parse` (exposition text -> families) and
:mod:`~vumeter.top.scrape` (HTTP); :mod:`~vumeter.top.counters`, :mod:`~vumeter.top.buckets`,
:mod:`~vumeter.top.reading` and :mod:`~vumeter.top.window` (reset-corrected totals, quantiles,
the sliding window); :mod:`~vumeter.top.endpoint` (one polled endpoint and its thread);
:mod:`~vumeter.top.view` (every panel's numbers); :mod:`~vumeter.top.panels` (drawing them with
rich); :mod:`~vumeter.top.app` (the live loop and the snapshot). Only the last two need rich
(the ``top`` extra). docs/top.md is the user's guide.
"""
