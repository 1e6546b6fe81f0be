"""The clock-skew engine: advert clocks against observation times (analytics-part-b §3).

`samples` turns every observation of an advert into a sample and calibrates observers
(vectorised: sorting and segment reductions over the columns); `nodes` turns the
per-hash results into one view per node (per-distinct Python); `drift` is the
Theil-Sen slope; `evidence` the per-hash observer breakdown of one node's detail.
"""
