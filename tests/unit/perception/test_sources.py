"""Frame sources: real footage decodes completely and in order; a flaky camera is simulated."""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.perception.sources import (
    Backoff,
    Frame,
    Image,
    LiveSource,
    Pacer,
    SourceError,
    open_source,
    redact_url,
)
from edge.perception.sources.files import FileSource
from tests.support.fake_camera import WAIT_S, Factory, FakeCamera

PETS = "pets2009_s2l1/vtest_part0.avi"


def live(spec: str | int, factory: Factory, **kwargs: Any) -> LiveSource:
    source = open_source(spec, capture_factory=factory, **kwargs)
    assert isinstance(source, LiveSource)
    return source


# --- live sources ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "target", "description"),
    [
        (0, 0, "USB camera 0"),
        ("2", 2, "USB camera 2"),
        (" 1 ", 1, "USB camera 1"),
        (
            "rtsp://admin:secret@cam.local/s",
            "rtsp://admin:secret@cam.local/s",
            "rtsp://***@cam.local/s",
        ),
        (
            "HTTPS://cam.local/video.mjpg",
            "HTTPS://cam.local/video.mjpg",
            "HTTPS://cam.local/video.mjpg",
        ),
        ("rtsps://cam.local/s", "rtsps://cam.local/s", "rtsps://cam.local/s"),
    ],
)
def test_live_specs_open_the_right_target(
    spec: str | int, target: int | str, description: str
) -> None:
    factory = Factory(FakeCamera(1, frames=1))
    with live(spec, factory) as source:
        assert factory.targets == [target]
        assert source.description == description
        assert source.is_live and source.frame_count is None
        assert source.size == (6, 4) and source.fps == 25.0


def test_live_source_asks_for_a_one_frame_driver_buffer() -> None:
    camera = FakeCamera(1, frames=1)
    with live(0, Factory(camera)):
        assert camera.props[cv2.CAP_PROP_BUFFERSIZE] == 1


def test_slow_consumer_gets_only_the_newest_frame() -> None:
    camera = FakeCamera(1, gated=True)
    camera.allow(1)  # the frame read at open
    source = live(0, Factory(camera))
    try:
        assert next(source).index == 0
        camera.allow(5)
        camera.wait_blocked_after(reads=6)
        newest = next(source)
        assert newest.index == 5
        assert newest.image.flat[1] == 6  # the sixth read, not a queued older one
        assert source.dropped == 4
        assert source.wait_frame(timeout=0.05) is None  # nothing newer: no stale repeat
    finally:
        camera.allow(10**6)
        source.close()


def test_lost_stream_reconnects_with_backoff_and_keeps_counting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, dead, dead_too, back = (
        FakeCamera(1, frames=3),
        FakeCamera(2, opened=False),
        FakeCamera(3, opened=False),
        FakeCamera(4),
    )
    factory = Factory(first, dead, dead_too, back)
    caplog.set_level(logging.WARNING, logger="edge.perception.sources.live")
    source = live(
        "rtsp://admin:secret@cam.local/stream",
        factory,
        reconnect_initial_s=0.01,
        reconnect_max_s=0.02,
    )
    with source:
        frames: list[Frame] = []
        while not frames or frames[-1].image.flat[0] != back.camera_id:
            frame = source.wait_frame(WAIT_S)
            assert frame is not None, "no frame after the camera came back"
            frames.append(frame)
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices))
    assert frames[-1].index >= 3  # camera 1 gave frames 0, 1, 2
    assert len(factory.targets) == 4
    assert all(camera.released for camera in (first, dead, dead_too, back))
    attempts = [r.getMessage() for r in caplog.records if "reconnect attempt" in r.getMessage()]
    assert [m.split("; ")[-1] for m in attempts] == [
        "reconnect attempt 1 in 0.01 s",
        "reconnect attempt 2 in 0.02 s",
        "reconnect attempt 3 in 0.02 s",
    ]
    assert "read failed" in attempts[0] and "could not open" in attempts[1]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "secret" not in messages
    assert "rtsp://***@cam.local/stream" in messages


@pytest.mark.parametrize(
    ("make_factory", "fragment"),
    [
        (lambda: Factory(FakeCamera(1, opened=False)), "cannot open USB camera 0 (could not open)"),
        (lambda: Factory(error=OSError("no such device")), "OSError: no such device"),
        (lambda: Factory(FakeCamera(1, frames=0)), "USB camera 0 opened but gave no frame"),
    ],
)
def test_camera_that_fails_at_start_is_a_clear_error_without_retrying(
    make_factory: Callable[[], Factory], fragment: str
) -> None:
    factory = make_factory()
    with pytest.raises(SourceError, match=r"check") as error:
        open_source(0, capture_factory=factory)
    assert fragment in str(error.value)
    assert len(factory.targets) == 1
    assert all(camera.released for camera in factory.cameras)


def test_close_wakes_a_waiting_consumer_and_releases_the_camera() -> None:
    camera = FakeCamera(1, gated=True)
    camera.allow(1)
    source = live(0, Factory(camera))
    consumed: list[int] = []
    consumer = threading.Thread(target=lambda: consumed.extend(f.index for f in source))
    consumer.start()
    camera.allow(10**6)
    source.close()
    consumer.join(WAIT_S)
    assert not consumer.is_alive()
    assert camera.released
    assert next(source, None) is None


def test_unusable_camera_image_stops_the_consumer_with_a_clear_error() -> None:
    camera = FakeCamera(1, gated=True)
    camera.allow(1)
    with live(0, Factory(camera)) as source:
        next(source)
        camera.shape = (4, 6)  # a grey image, not BGR
        camera.allow(1)
        with pytest.raises(SourceError, match=r"USB camera 0: reading stopped: .*BGR uint8"):
            source.wait_frame(WAIT_S)
        camera.allow(10**6)


@pytest.mark.parametrize(
    ("initial", "maximum", "delays"),
    [
        (0.5, 10.0, [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]),
        (1.0, 1.0, [1.0, 1.0, 1.0]),
        (0.3, 1.0, [0.3, 0.6, 1.0, 1.0]),
    ],
)
def test_backoff_doubles_up_to_the_cap_and_resets(
    initial: float, maximum: float, delays: list[float]
) -> None:
    backoff = Backoff(initial, maximum)
    assert [backoff.next() for _ in delays] == pytest.approx(delays)
    backoff.reset()
    assert backoff.next() == initial


@pytest.mark.parametrize(("initial", "maximum"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 1.0)])
def test_backoff_rejects_impossible_delays(initial: float, maximum: float) -> None:
    with pytest.raises(ValueError, match="reconnect delays"):
        Backoff(initial, maximum)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://admin:secret@cam.local:554/s", "rtsp://***@cam.local:554/s"),
        ("rtsp://cam.local/s?channel=1", "rtsp://cam.local/s?channel=1"),
        ("rtsp://u:p@ss/w@rd@10.0.0.5/s", "rtsp://***@10.0.0.5/s"),
        (
            "http://10.0.0.5/v.cgi?user=admin&pwd=secret&res=1",
            "http://10.0.0.5/v.cgi?user=***&pwd=***&res=1",
        ),
        ("http://cam/s?token=abc#x", "http://cam/s?token=***#x"),
        ("not a url", "not a url"),
    ],
)
def test_redact_url_hides_credentials(url: str, shown: str) -> None:
    assert redact_url(url) == shown


class HoldingCamera(FakeCamera):
    """A FakeCamera whose third read waits for the consumer to let go of the second image and
    then counts the references to it."""

    def __init__(self) -> None:
        super().__init__(1)
        self.second: Image | None = None
        self.let_go = threading.Event()
        self.refs_while_reading: int | None = None

    def read(self) -> tuple[bool, Image]:
        if self.reads == 2:
            assert self.let_go.wait(WAIT_S)
            self.refs_while_reading = sys.getrefcount(self.second)
        ok, image = super().read()
        if self.reads == 2:
            self.second = image
        return ok, image


def test_the_reader_holds_no_image_it_published_while_it_reads_the_next() -> None:
    camera = HoldingCamera()
    with live(0, Factory(camera)) as source:
        while int(next(source).image.flat[1]) != 2:  # frame 1 may be dropped for the newer 2
            pass
        camera.let_go.set()  # the consumer is done with frame 2
        assert int(next(source).image.flat[1]) > 2
    # the camera's `second` attribute and getrefcount's argument: the reader keeps none
    assert camera.refs_while_reading == 2, "the reader still held the image it published"


# --- files ----------------------------------------------------------------------------------


class CountedFrames(FileSource):
    """``total`` grey images, noting how many decoded images waited in the queue at each
    decode and on which thread, and telling the test each time a decode starts."""

    def __init__(self, total: int, realtime: bool = False) -> None:
        self.waiting: list[int] = []
        self.threads: list[threading.Thread] = []
        self.decoding = threading.Semaphore(0)
        self._left = total - 1
        grey = np.zeros((4, 4, 3), np.uint8)
        super().__init__("counted", grey, 100.0, total, realtime=realtime)

    def _decode(self) -> Image | None:
        self.waiting.append(len(self._ahead))
        self.threads.append(threading.current_thread())
        self.decoding.release()
        if self._left == 0:
            return None
        self._left -= 1
        return np.zeros((4, 4, 3), np.uint8)


def test_a_file_source_holds_one_decoded_image_ahead_not_two() -> None:
    source = CountedFrames(12)
    taken = 0
    for _ in source:
        taken += 1
        assert source.decoding.acquire(timeout=WAIT_S)  # the reader is ahead of the consumer
    assert taken == 12
    assert source.waiting == [0] * 12  # no decode began while an image still waited


def test_a_paced_file_is_decoded_when_asked_on_the_callers_thread() -> None:
    source = CountedFrames(5, realtime=True)
    assert len(list(source)) == 5
    assert source.threads == [threading.current_thread()] * 5  # no image decoded ahead


class HoldingFrames(CountedFrames):
    """CountedFrames whose decoder, before decoding the third image, waits for the consumer to
    let go of the second and counts the references to it."""

    def __init__(self) -> None:
        self.second: Image | None = None
        self.let_go = threading.Event()
        self.refs_while_decoding: int | None = None
        super().__init__(4)

    def _decode(self) -> Image | None:
        if self.second is not None and self.refs_while_decoding is None:
            assert self.let_go.wait(WAIT_S)
            self.refs_while_decoding = sys.getrefcount(self.second)
        image = super()._decode()
        if len(self.threads) == 1:  # the second image (the first came with the constructor)
            self.second = image
        return image


def test_the_decoder_holds_no_image_it_handed_on_while_it_decodes_the_next() -> None:
    source = HoldingFrames()
    frames = iter(source)
    next(frames), next(frames)  # the second frame is taken, then dropped
    source.let_go.set()
    assert len(list(frames)) == 2
    # the `second` attribute and getrefcount's argument: the decoder keeps none
    assert source.refs_while_decoding == 2, "the decoder still held the image it handed on"


class OrderedFrames(CountedFrames):
    """CountedFrames, paced on a clock that only its waits move, noting waits and decodes."""

    def __init__(self, total: int) -> None:
        self.order: list[str] = []
        super().__init__(total, realtime=True)
        self.now = 0.0
        self._pacer = Pacer(clock=lambda: self.now, sleep=self._wait)

    def _wait(self, seconds: float) -> None:
        self.order.append("wait")
        self.now += seconds

    def _decode(self) -> Image | None:
        self.order.append("decode")
        return super()._decode()


def test_a_paced_file_decodes_each_frame_once_it_is_due_so_none_waits_decoded() -> None:
    source = OrderedFrames(4)
    assert len(list(source)) == 4
    assert source.order == ["wait", "decode"] * 4  # frames 1-3, then the end of the file


@pytest.mark.footage
@pytest.mark.parametrize(
    ("relative", "count", "size"),
    [(PETS, 250, (768, 576)), ("intel/face-demographics-walking.gif", 35, (480, 270))],
)
def test_real_footage_gives_every_frame_in_order(
    footage_dir: Path, relative: str, count: int, size: tuple[int, int]
) -> None:
    with open_source(footage_dir / relative) as source:
        frames = list(source)
    assert not source.is_live and source.dropped == 0
    assert source.size == size and source.frame_count == count
    assert [f.index for f in frames] == list(range(count))
    assert [f.t for f in frames] == pytest.approx([i / source.fps for i in range(count)])
    assert {f.image.shape for f in frames} == {(size[1], size[0], 3)}  # Frame checks uint8
    monos = [f.captured_mono for f in frames]
    assert monos == sorted(monos)


@pytest.mark.footage
def test_fps_overrides_what_the_container_says(footage_dir: Path) -> None:
    with open_source(footage_dir / PETS, fps=7.0) as source:
        times = [f.t for f in itertools.islice(source, 8)]
    assert source.fps == 7.0
    assert times == pytest.approx([i / 7.0 for i in range(8)])


def _pets_frames(footage_dir: Path, picks: list[int]) -> list[Image]:
    with open_source(footage_dir / PETS) as source:
        frames = [f.image for f in itertools.islice(source, max(picks) + 1)]
    return [frames[i] for i in picks]


@pytest.mark.footage
def test_image_folder_plays_in_natural_order(footage_dir: Path, tmp_path: Path) -> None:
    images = _pets_frames(footage_dir, [0, 40, 80])
    for name, image in zip(["frame1.png", "frame2.png", "frame10.png"], images, strict=True):
        cv2.imwrite(str(tmp_path / name), image)
    (tmp_path / "notes.txt").write_text("not a frame")
    with open_source(str(tmp_path), fps=5.0) as source:
        frames = list(source)
    assert source.frame_count == 3 and source.size == (768, 576)
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.t for f in frames] == pytest.approx([0.0, 0.2, 0.4])
    for frame, image in zip(frames, images, strict=True):
        np.testing.assert_array_equal(frame.image, image)


@pytest.mark.footage
def test_image_folder_defaults_to_10_fps(footage_dir: Path, tmp_path: Path) -> None:
    for i, image in enumerate(_pets_frames(footage_dir, [0, 1])):
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), image)
    with open_source(tmp_path) as source:
        assert [f.t for f in source] == pytest.approx([0.0, 0.1])


@pytest.mark.footage
def test_realtime_takes_at_least_the_media_duration(footage_dir: Path, tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 20.0, (768, 576))
    for image in _pets_frames(footage_dir, [0, 1, 2, 3, 4]):
        writer.write(image)
    writer.release()
    started = time.monotonic()
    with open_source(clip, realtime=True) as source:
        frames = list(source)
    assert len(frames) == 5 and source.fps == 20.0
    assert time.monotonic() - started >= frames[-1].t  # a lower bound only, not a speed test


@pytest.mark.parametrize(
    ("work", "sleeps"),
    [
        ([0.0, 0.0, 0.0, 0.0], [0.1, 0.1, 0.1]),
        ([0.04, 0.04, 0.04, 0.04], [0.06, 0.06, 0.06]),  # due times do not drift
        ([0.25, 0.0, 0.0, 0.0], [0.05]),  # late frames go at once, then back on schedule
    ],
)
def test_pacer_holds_frames_to_fixed_due_times(work: list[float], sleeps: list[float]) -> None:
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    pacer = Pacer(clock=lambda: clock[0], sleep=sleep)
    for i, seconds in enumerate(work):
        pacer.wait(i * 0.1)
        clock[0] += seconds
    assert slept == pytest.approx(sleeps)


# --- bad sources ----------------------------------------------------------------------------


def _text_as_video(tmp: Path) -> str:
    (tmp / "clip.mp4").write_text("not a video")
    return str(tmp / "clip.mp4")


def _folder_without_images(tmp: Path) -> str:
    (tmp / "readme.txt").write_text("no frames here")
    return str(tmp)


def _folder_with_broken_image(tmp: Path) -> str:
    (tmp / "frame1.png").write_text("not an image")
    return str(tmp)


Spec = Callable[[Path], Any]  # deliberately also wrong types


@pytest.mark.parametrize(
    ("make", "fps", "error", "fragments"),
    [
        (
            lambda t: str(t / "missing.mp4"),
            None,
            SourceError,
            ["missing.mp4", "no such file", "USB camera index", "folder of images"],
        ),
        (_text_as_video, None, SourceError, ["clip.mp4", "cannot open this file as a video"]),
        (lambda t: str(t), None, SourceError, ["no images in this folder", ".png"]),
        (_folder_without_images, None, SourceError, ["no images in this folder"]),
        (_folder_with_broken_image, None, SourceError, ["frame1.png", "cannot decode this image"]),
        (
            lambda t: "ftp://user:pw@host/x",
            None,
            SourceError,
            ["unsupported scheme ftp://", "ftp://***@host/x"],
        ),
        (lambda t: "/dev/video-greetcue-test", None, SourceError, ["no such device", "v4l2-ctl"]),
        (lambda t: -1, None, SourceError, ["negative"]),
        (lambda t: "  ", None, SourceError, ["empty", "USB camera index"]),
        (lambda t: True, None, SourceError, ["yes/no"]),
        (lambda t: str(t), 0.0, ValueError, ["fps must be a positive"]),
    ],
)
def test_bad_sources_fail_clearly_at_start(
    tmp_path: Path,
    make: Spec,
    fps: float | None,
    error: type[Exception],
    fragments: list[str],
) -> None:
    with pytest.raises(error) as raised:
        open_source(make(tmp_path), fps=fps)
    for fragment in fragments:
        assert fragment in str(raised.value)


@pytest.mark.footage
@pytest.mark.parametrize("realtime", [False, True], ids=["decoded ahead", "paced"])
def test_folder_with_mixed_sizes_fails_at_the_odd_image(
    footage_dir: Path, tmp_path: Path, realtime: bool
) -> None:
    image = _pets_frames(footage_dir, [0])[0]
    cv2.imwrite(str(tmp_path / "a1.png"), image)
    cv2.imwrite(str(tmp_path / "a2.png"), image[:100])
    with open_source(tmp_path, realtime) as source:
        next(source)
        with pytest.raises(SourceError, match=r"a2\.png: image is 768x100"):
            next(source)
