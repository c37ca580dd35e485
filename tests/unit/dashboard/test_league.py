"""The league of sites is the league of their cameras when every site has one camera, in the
same order, ties included (site names that sort differently with their camera's name)."""

from __future__ import annotations

import numpy as np

from dashboard.analytics import Analytics, _joined
from dashboard.samples import Entries, Units
from dashboard.settings import DashboardConfig


def units(sites: list[str], cameras: list[str], latency: list[float]) -> Units:
    n = len(sites)
    one = np.ones(n, np.int64)
    return Units(
        site=np.array(sites),
        camera=np.array(cameras),
        waiting=np.zeros(n, bool),
        local_day=np.zeros(n, np.int64),
        local_minute=np.full(n, 600, np.int64),
        customers=one,
        acked=one,
        left=np.zeros(n, np.int64),
        closed=np.zeros(n, np.int64),
        latency=Entries.exact(np.array(latency)),
    )


def test_one_camera_a_site_ranks_the_sites_as_computed_apart() -> None:
    analytics = Analytics(DashboardConfig())
    sites = ["store-1", "store-1.5", "store-10", "store-2", "store-1", "store-1.5"]
    people = units(sites, ["c"] * 6, [3.0, 3.0, 3.0, 40.0, 3.0, 3.0])  # ties on every figure
    cameras = analytics._league(people, _joined(people.site, people.camera))
    assert analytics._league(people, people.site, cameras) == analytics._league(people, people.site)
    assert [row["key"] for row in analytics._league(people, people.site, cameras)][-1] == "store-2"


def test_a_site_with_two_cameras_is_figured_over_both() -> None:
    analytics = Analytics(DashboardConfig())
    people = units(["a", "a", "b"], ["c1", "c2", "c1"], [1.0, 50.0, 2.0])
    cameras = analytics._league(people, _joined(people.site, people.camera))
    sites = analytics._league(people, people.site, cameras)
    assert sites == analytics._league(people, people.site)
    assert {row["key"]: row["customers"] for row in sites} == {"a": 2, "b": 1}
