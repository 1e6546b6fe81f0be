"""The serving benchmarks' helpers: what the MQTT load publishes, and how pairs are judged."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

from bench.load import proc_kb
from bench.mqtt_load import messages
from bench.serve import (
    LoopLoad,
    MemorySample,
    MemoryWatch,
    ThreadLoad,
    ThreadSched,
    WrkResult,
    _ingest_ms,
    describe_loads,
    feeder_sightings,
    ingest_thread_loads,
    is_ingest_thread,
    loop_change,
    median_interval,
    pair_ratios,
    resident_mb,
    summarise,
    thread_cpu,
    thread_loads_since,
    thread_sched,
)
from bench.serve_seconds import marks_of
from meshlens.ingest.routing import RoutingRules, route_message
from meshlens.records import Sighting


def test_the_load_publishes_simulated_packet_messages_under_its_own_topic_root() -> None:
    published = messages("mlbench1", 40, seed=7, days=0.001)  # a short slice: quick
    assert len(published) == 40
    for topic, body in published:
        root, region, observer, kind = topic.split("/")
        assert (root, kind) == ("mlbench1", "packets") and region and observer
        assert isinstance(route_message(topic, body, RoutingRules(), received_at_ms=1), Sighting)


def _wrk(p99_ms: float) -> WrkResult:
    return WrkResult(requests_s=1.0, p50_ms=1.0, p99_ms=p99_ms, requests=1, errors=0)


def test_each_churn_phase_is_judged_against_the_idle_phase_of_its_pair() -> None:
    rows = [
        ("idle, fast path", _wrk(9.0)),  # not a pair's idle phase
        ("idle 1", _wrk(4.0)),
        ("churn 1: 9 computes, 10 obs, 10 stored", _wrk(5.0)),
        ("idle 2", _wrk(2.0)),
        ("churn 2: 9 computes, 10 obs, 9 stored", _wrk(3.0)),
    ]
    assert pair_ratios(rows) == [1.25, 1.5]
    # The medians leave out the fast path's idle phase: of 4 and 2 ms, 3; of 5 and 3, 4.
    summary = summarise(rows)
    assert (summary.idle_p99_ms, summary.churn_p99_ms, summary.ratio) == (3.0, 4.0, 1.375)
    assert (summary.idle_requests_s, summary.churn_requests_s) == (1.0, 1.0)
    assert summary.churn_names == [name for name, _ in rows if name.startswith("churn")]


def test_a_per_second_load_names_its_marks_in_any_order() -> None:
    assert marks_of("ingest") == ("ingest", {})
    assert marks_of("full@0.25") == ("full", {"@": "0.25"})
    assert marks_of("ingest%0.02^idle@5") == ("ingest", {"%": "0.02", "^": "idle", "@": "5"})
    assert marks_of("full~10") == ("full", {"~": "10"})


def test_thread_cpu_counts_each_named_thread_its_own() -> None:
    stop = threading.Event()

    def spin() -> None:
        deadline = time.thread_time() + 0.1  # 100 ms of this thread's own CPU
        while time.thread_time() < deadline:
            pass
        stop.wait()

    busy = threading.Thread(target=spin, name="cpu-probe-busy")
    idle = threading.Thread(target=stop.wait, name="cpu-probe-idle")
    busy.start()
    idle.start()
    try:
        # /proc counts in clock ticks (10 ms): wait until the spin is surely counted.
        give_up = time.monotonic() + 10
        while thread_cpu().get("cpu-probe-busy", 0.0) < 0.08 and time.monotonic() < give_up:
            time.sleep(0.005)
        cpu = thread_cpu()
        assert 0.08 <= cpu["cpu-probe-busy"] < 1.0
        assert cpu["cpu-probe-idle"] < 0.02
        assert "no-such-thread" not in cpu
    finally:
        stop.set()
        busy.join()
        idle.join()


def test_the_loop_load_of_a_phase_is_cpu_per_read_and_waits_per_second() -> None:
    before, after = ThreadSched(10.0, 2.0), ThreadSched(12.5, 3.0)
    result = WrkResult(requests_s=25_000.0, p50_ms=1.0, p99_ms=3.0, requests=100_000, errors=0)
    # 2.5 s of CPU over 100,000 reads; 1 s of waiting over a 4 s phase.
    assert LoopLoad.of(before, after, result, 4.0) == LoopLoad(25.0, 250.0)
    assert loop_change(LoopLoad(23.24, 263.4), LoopLoad(24.05, 265.6)) == (
        "event loop 23.2 -> 24.1 µs CPU a read, waited 263 -> 266 ms/s for a CPU"
    )


def test_thread_sched_counts_a_named_threads_cpu_and_nothing_for_a_stranger() -> None:
    stop = threading.Event()

    def spin() -> None:
        deadline = time.thread_time() + 0.05
        while time.thread_time() < deadline:
            pass
        stop.wait()

    busy = threading.Thread(target=spin, name="sched-probe-busy")
    busy.start()
    try:
        give_up = time.monotonic() + 10
        while thread_sched("sched-probe-busy").on_cpu_s < 0.05 and time.monotonic() < give_up:
            time.sleep(0.005)
        counted = thread_sched("sched-probe-busy")
        assert 0.05 <= counted.on_cpu_s < 1.0
        assert counted.waiting_s >= 0.0
        assert thread_sched("no-such-thread") == ThreadSched(0.0, 0.0)
    finally:
        stop.set()
        busy.join()


def test_ingest_threads_are_the_receipts_the_worker_and_the_writer() -> None:
    assert all(map(is_ingest_thread, ["mqtt-staging", "ingest", "db-writer"]))
    assert not any(map(is_ingest_thread, ["server", "recompute-rf", "ingest-status"]))
    label = "churn 1: 9 computes, 15037 obs, 14625 stored, ingest's threads 37 ms CPU/s"
    assert (_ingest_ms(label), _ingest_ms("churn 1: 9 computes")) == ("37", "?")


def test_an_ingest_threads_load_counts_its_cpu_and_each_time_it_blocked() -> None:
    go, done, release = threading.Event(), threading.Event(), threading.Event()

    def work() -> None:
        go.wait()
        deadline = time.thread_time() + 0.05  # 50 ms of this thread's own CPU
        while time.thread_time() < deadline:
            pass
        for _ in range(20):  # each sleep blocks: a voluntary context switch
            time.sleep(0.001)
        done.set()
        release.wait()  # stays alive to be read

    # A receipt's name of its own: no other test's threads are counted with it.
    thread = threading.Thread(target=work, name="mqtt-load-probe")
    other = threading.Thread(target=done.wait, name="not-ingest")
    thread.start()
    other.start()
    try:
        before = ingest_thread_loads()
        assert "mqtt-load-probe" in before and "not-ingest" not in before
        go.set()
        done.wait(10)
        load = thread_loads_since(before)["mqtt-load-probe"]
        assert 0.05 <= load.cpu_s < 1.0
        assert load.waits >= 20
    finally:
        go.set()
        done.set()
        release.set()
        thread.join()
        other.join()


def test_thread_loads_read_as_cpu_and_waits_a_second() -> None:
    loads = {"ingest": ThreadLoad(0.2, 1_200), "db-writer": ThreadLoad(0.1, 400)}
    assert describe_loads(loads, 10.0) == (
        "30 ms CPU/s, 160 waits/s (db-writer 10/40, ingest 20/120)"
    )
    assert ThreadLoad(1.5, 30).since(ThreadLoad(0.5, 10)) == ThreadLoad(1.0, 20)
    assert ThreadLoad(1.5, 30).since(None) == ThreadLoad(1.5, 30)


def test_the_median_interval_is_the_sign_tests() -> None:
    # Nine pairs: the 3rd lowest to the 3rd highest holds the median with 1 - 2 * 46/512.
    nine = median_interval([1.4, 1.0, 1.2, 1.1, 1.3, 0.9, 1.25, 1.15, 1.05])
    assert (nine.low, nine.high) == (1.05, 1.25)
    assert nine.coverage == 1 - 2 * 46 / 512
    # Seven: the 2nd of each end, 1 - 2 * 8/128; three: all of them, whatever it covers.
    seven = median_interval([7.0, 1.0, 6.0, 2.0, 5.0, 3.0, 4.0])
    assert (seven.low, seven.high, seven.coverage) == (2.0, 6.0, 0.875)
    three = median_interval([1.3, 1.1, 1.2])
    assert (three.low, three.high, three.coverage) == (1.1, 1.3, 0.75)
    assert str(three) == "x1.10-1.30 (75%)"


def test_the_memory_watch_reads_this_process_and_sums_up_the_growth() -> None:
    with MemoryWatch(every_s=3600) as watch:  # one sample as it starts, one as it ends
        pass
    assert len(watch.samples) == 2
    anon, file = resident_mb()
    assert 0 < watch.samples[0].anon_mb <= anon * 2 and file > 0
    watch.samples = [
        MemorySample(0, 240, 30),
        MemorySample(60, 300, 30),  # the peak
        MemorySample(120, 280, 30),  # the second half starts here (at half of 240 s)
        MemorySample(240, 290, 31),  # +10 MB over its 2 minutes
    ]
    assert watch.summary() == (
        "RssAnon 240 MB at 0 s, peak 300, 290 MB at 240 s; +5.0 MB a minute over the second half"
    )


def test_a_feeder_threads_sightings_are_kept_from_the_collector() -> None:
    # They live in the server's process: unfrozen, each full collection walked them all.
    before = gc.get_freeze_count()
    try:
        feed = feeder_sightings(3)
        tracked = {id(obj) for obj in gc.get_objects()}
        offered = list(feed)
        assert offered and all(type(s) is Sighting for s in offered)
        assert gc.get_freeze_count() >= before + len(offered)
        assert not any(id(s) in tracked for s in offered)
    finally:
        gc.unfreeze()  # back to the collector, as every other test expects


def test_proc_kb_reads_the_kb_of_each_key_asked_for(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmRSS:\t  300 kB\nRssAnon:\t  250 kB\nRssFile:\t 40 kB\n")
    assert proc_kb(str(status), "RssAnon", "RssFile", "RssShmem") == [250, 40, 0]
    assert proc_kb(str(status), "VmRSS") == [300]
