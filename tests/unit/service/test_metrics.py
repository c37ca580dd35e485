"""Service metrics: fps, stage medians, latency percentiles, the log line and /metrics."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.contract import MAX_FPS, Metrics, encode
from edge.service.health.metrics import (
    RunningTotal,
    ServiceMetrics,
    StageClock,
    percentiles_ms,
    summary_line,
)

LABELS = {"site": "store-1", "camera": "counter-1"}


class FakeTime:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def metrics(fake_time: FakeTime) -> Iterator[ServiceMetrics]:
    service = ServiceMetrics("store-1", "counter-1", interval_s=2.0, now=fake_time)
    yield service
    service.close()


def _run_frames(metrics: ServiceMetrics, fake_time: FakeTime, detect_s: list[float]) -> None:
    """One frame per detect time: 10 ms capture wait, the detect time, 0.3 ms tracking."""
    clock = metrics.clock
    for seconds in detect_s:
        clock.begin()
        fake_time.t += 0.010
        clock.lap("capture")
        fake_time.t += seconds
        clock.lap("detect")
        fake_time.t += 0.0003
        clock.lap("track")
        clock.end()


def _busy_window(metrics: ServiceMetrics, fake_time: FakeTime) -> Metrics:
    """30 frames in 2 s (15 fps), detect 40/50/60 ms, 100 latencies, a busy store."""
    start = fake_time.t
    _run_frames(metrics, fake_time, [0.040, 0.050, 0.060] * 10)
    for ms in range(1, 101):
        metrics.add_latency_ms(float(ms))
    metrics.set_outbox(2, 1)
    metrics.set_frames_dropped(3)
    metrics.set_camera_online(True)
    metrics.set_people(2)
    fake_time.t = start + 2.0
    report = metrics.poll()
    assert report is not None
    return report


def test_fps_is_frames_over_the_interval(metrics: ServiceMetrics, fake_time: FakeTime) -> None:
    assert _busy_window(metrics, fake_time).fps == pytest.approx(15.0)


def test_a_report_moments_after_a_frame_stays_within_the_contract(
    metrics: ServiceMetrics, fake_time: FakeTime
) -> None:
    """One frame in a few microseconds is no rate of millions: the report is capped at the
    contract's bound instead of failing to validate (its own docstring example did)."""
    metrics.clock.begin()
    metrics.clock.end()
    fake_time.t += 1e-5
    assert metrics.report().fps == MAX_FPS


def test_stage_medians_in_ms_leave_out_stages_never_timed(
    metrics: ServiceMetrics, fake_time: FakeTime
) -> None:
    stage_ms = _busy_window(metrics, fake_time).stage_ms
    assert stage_ms == pytest.approx({"capture": 10.0, "detect": 50.0, "track": 0.3})


def test_latency_percentiles_over_the_interval(
    metrics: ServiceMetrics, fake_time: FakeTime
) -> None:
    report = _busy_window(metrics, fake_time)
    assert (report.latency_ms_p50, report.latency_ms_p99) == (50.0, 99.0)
    fake_time.t += 2.0
    later = metrics.report()
    assert (later.latency_ms_p50, later.latency_ms_p99) == (None, None)


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([], (None, None)),
        ([42.0], (42.0, 42.0)),
        ([float(ms) for ms in range(1, 101)], (50.0, 99.0)),
        ([10.0] * 99 + [500.0], (10.0, 10.0)),
        ([10.0] * 98 + [500.0] * 2, (10.0, 500.0)),
    ],
)
def test_percentiles_are_samples_really_seen(
    samples: list[float], expected: tuple[float | None, float | None]
) -> None:
    assert percentiles_ms(samples) == expected


def test_report_is_a_valid_metrics_message(metrics: ServiceMetrics, fake_time: FakeTime) -> None:
    report = _busy_window(metrics, fake_time)
    assert Metrics.model_validate_json(encode(report)) == report
    assert (report.site, report.camera) == ("store-1", "counter-1")
    assert (report.outbox_depth, report.outbox_dropped, report.frames_dropped) == (2, 1, 3)
    assert (report.camera_online, report.people) == (True, 2)


def test_one_log_line_names_every_figure(
    metrics: ServiceMetrics, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="edge.service.health.metrics"):
        _busy_window(metrics, fake_time)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("metrics:")]
    assert line == (
        "metrics: 15.0 fps, capture 10 ms, detect 50 ms, track 0.3 ms, "
        "e2e p50 50 ms p99 99 ms, outbox 2 (dropped 1), dropped frames 3, camera online, "
        "2 people"
    )


def test_an_idle_window_says_so(metrics: ServiceMetrics, fake_time: FakeTime) -> None:
    fake_time.t += 2.0
    metrics.set_people(1)
    line = summary_line(metrics.report())
    assert line == (
        "metrics: 0.0 fps, e2e n/a (nothing published), outbox 0 (dropped 0), "
        "dropped frames 0, camera OFFLINE, 1 person"
    )


def test_poll_reports_only_once_the_interval_is_over(
    metrics: ServiceMetrics, fake_time: FakeTime
) -> None:
    fake_time.t += 1.9
    assert metrics.poll() is None
    fake_time.t += 0.1
    assert metrics.poll() is not None
    assert metrics.poll() is None


def test_the_window_keeps_the_latest_frames(fake_time: FakeTime) -> None:
    clock = StageClock(("detect",), capacity=4, now=fake_time)
    for ms in range(10):
        clock.begin()
        fake_time.t += ms / 1000
        clock.lap("detect")
        clock.end()
    frames, rows = clock.take()
    assert frames == 10
    assert sorted(rows[:, 0].round(6)) == [0.006, 0.007, 0.008, 0.009]
    assert clock.take()[0] == 0


def test_a_duration_measured_elsewhere_can_be_added(fake_time: FakeTime) -> None:
    clock = StageClock(("capture",), now=fake_time)
    clock.begin()
    clock.add("capture", 0.25)
    clock.end()
    assert clock.take()[1].tolist() == [[0.25]]


def test_an_unknown_stage_is_an_error(fake_time: FakeTime) -> None:
    clock = StageClock(("detect",), now=fake_time)
    clock.begin()
    with pytest.raises(KeyError):
        clock.lap("detetc")


@pytest.mark.parametrize(
    ("counts", "total"),
    [
        ([0, 2, 5], 5),
        ([4, 4, 4], 4),
        ([5, 7, 2], 9),  # the counter restarted (camera reopened) and counted 2 more
        ([3, 0, 1], 4),
    ],
)
def test_running_total_survives_a_counter_restart(counts: list[int], total: int) -> None:
    running = RunningTotal()
    for count in counts:
        running.update(count)
    assert running.total == total


def test_latencies_from_other_threads_are_all_counted(
    metrics: ServiceMetrics, fake_time: FakeTime
) -> None:
    def publish() -> None:
        for _ in range(1000):
            metrics.add_latency_ms(20.0)

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(20):
        fake_time.t += 2.0
        metrics.report()
    for thread in threads:
        thread.join()
    metrics.report()
    count = metrics.registry.get_sample_value("greetcue_e2e_latency_seconds_count", LABELS)
    assert count == 4000


def _scrape(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Samples by name, then by their sorted labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def test_metrics_endpoint_serves_greetcue_series_with_site_and_camera(
    metrics: ServiceMetrics, fake_time: FakeTime
) -> None:
    port = metrics.start_http("127.0.0.1", 0)
    assert port > 0
    _busy_window(metrics, fake_time)
    samples = _scrape(port)
    cam = tuple(sorted(LABELS.items()))
    assert samples["greetcue_fps"][cam] == pytest.approx(15.0)
    assert samples["greetcue_frames_total"][cam] == 30
    assert samples["greetcue_frames_dropped_total"][cam] == 3
    assert samples["greetcue_outbox_dropped_total"][cam] == 1
    assert samples["greetcue_outbox_depth"][cam] == 2
    assert samples["greetcue_camera_online"][cam] == 1
    assert samples["greetcue_people"][cam] == 2
    assert samples["greetcue_e2e_latency_seconds_count"][cam] == 100
    detect = tuple(sorted({**LABELS, "stage": "detect"}.items()))
    assert samples["greetcue_stage_seconds_count"][detect] == 30
    assert all(name.startswith("greetcue_") for name in samples)


def test_two_services_keep_their_own_series(fake_time: FakeTime) -> None:
    first = ServiceMetrics("store-1", "counter-1", now=fake_time)
    second = ServiceMetrics("store-1", "counter-2", now=fake_time)
    first.set_people(3)
    fake_time.t += 5.0
    first.report()
    second.report()
    people = "greetcue_people"
    assert first.registry.get_sample_value(people, LABELS) == 3
    assert second.registry.get_sample_value(people, {**LABELS, "camera": "counter-2"}) == 0


def test_close_stops_the_endpoint(fake_time: FakeTime) -> None:
    service = ServiceMetrics("store-1", "counter-1", now=fake_time)
    port = service.start_http("127.0.0.1", 0)
    _scrape(port)
    service.close()
    with pytest.raises(urllib.error.URLError):
        _scrape(port)


def test_without_an_endpoint_no_prometheus_is_loaded_and_the_figures_still_come() -> None:
    script = (
        "import sys\n"
        "from edge.service.health.metrics import ServiceMetrics\n"
        "m = ServiceMetrics('store-1', 'counter-1', exported=False)\n"
        "m.set_frames_dropped(3); m.set_outbox(2, 1); m.clock.begin(); m.clock.end()\n"
        "print(m.report().outbox_depth, 'prometheus_client' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "False"]


def test_serving_metrics_made_without_series_is_a_clear_error(fake_time: FakeTime) -> None:
    metrics = ServiceMetrics("store-1", "counter-1", now=fake_time, exported=False)
    with pytest.raises(RuntimeError, match="without Prometheus series"):
        metrics.start_http("127.0.0.1", 0)
