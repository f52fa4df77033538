"""The vehicle side's signs over time: tracker, class vote, CAM stability, signs in force."""

from __future__ import annotations

import numpy as np
import pytest

from edgexai.core.classes import GTSRB_CLASSES
from edgexai.core.detection.boxes import iou_matrix
from edgexai.deploy.tracking.box_tracker import BoxTracker, TrackerSettings
from edgexai.deploy.tracking.cam_stability import (
    CamStability,
    box_grid,
    peak_outside,
    pearson,
    top_iou,
)
from edgexai.deploy.tracking.class_vote import ClassVote
from edgexai.deploy.tracking.signs_in_force import SignsInForce


def _approach(t: int, start=(600.0, 300.0), vp=(680.0, 360.0), size=16.0, zoom=1.06):
    """A sign's box at time t while the camera drives toward the vanishing point `vp`."""
    s = zoom**t
    cx, cy = vp[0] + (start[0] - vp[0]) * s, vp[1] + (start[1] - vp[1]) * s
    half = size * s / 2
    return np.array([cx - half, cy - half, cx + half, cy + half])


def test_one_sign_approaching_keeps_one_id_across_missed_frames():
    tracker = BoxTracker(TrackerSettings(min_frames=3, drop_frames=6, overlap=0.3))
    ids, confirmed_at = set(), None
    for t in range(40):
        if t in (10, 11, 12, 13, 25):  # the detector misses it for four frames, then once
            found = tracker.update(np.zeros((0, 4)), t)
        else:
            found = tracker.update(_approach(t)[None], t)
            ids.add(found.track_of[0].id)
        if found.confirmed_now:
            confirmed_at = t
        assert not found.ended
    assert ids == {1} and confirmed_at == 2
    ended = tracker.finish()
    assert [t.id for t in ended] == [1] and ended[0].hits == 35


def test_the_motion_prediction_is_what_bridges_the_gap():
    """Without the prediction (the last box), the fast-growing sign is lost after the gap."""
    boxes = [_approach(t, zoom=1.1) for t in range(16)]
    tracker = BoxTracker(TrackerSettings(min_frames=1, drop_frames=6, overlap=0.3))
    ids = [
        tracker.update(b[None], t).track_of[0].id
        for t, b in enumerate(boxes)
        if t not in (8, 9, 10)
    ]
    assert set(ids) == {1}
    stale = iou_matrix(boxes[7][None], boxes[11][None])[0, 0]
    assert stale < 0.3  # the last box alone would not have matched


def test_two_signs_and_a_lost_track_ending():
    tracker = BoxTracker(TrackerSettings(min_frames=2, drop_frames=2, overlap=0.3))
    a = np.array([[100, 100, 120, 120], [300, 100, 320, 120]], float)
    first = tracker.update(a, 0).track_of
    second = tracker.update(a[::-1] + 1, 1).track_of  # order swapped: ids follow the boxes
    assert [t.id for t in second] == [first[1].id, first[0].id]
    tracker.update(a[:1] + 2, 2)
    tracker.update(a[:1] + 3, 3)
    found = tracker.update(a[:1] + 4, 4)  # the second sign: last seen at 1, > 2 frames ago
    assert [t.id for t in found.ended] == [first[1].id]


def test_unconfirmed_tracks_are_probation():
    tracker = BoxTracker(TrackerSettings(min_frames=3, drop_frames=0, overlap=0.3))
    found = tracker.update(np.array([[0, 0, 10, 10]], float), 0)
    assert not found.track_of[0].confirmed
    ended = tracker.update(np.zeros((0, 4)), 2).ended
    assert len(ended) == 1 and not ended[0].confirmed


def test_class_vote_never_flickers_on_a_few_wrong_frames_but_corrects_a_wrong_start():
    vote = ClassVote(switch_ratio=2.0)
    for k in (3, 3, 5):
        vote.add(k, 0.9)
    assert vote.confirm() == 3
    vote.add(5, 0.9)  # 5 ties 3: no change
    assert vote.confirm() == 3 and vote.relabels == 0
    for _ in range(3):
        vote.add(5, 0.9)
    assert vote.confirm() == 5 and vote.relabels == 1  # 5: 3.6 ≥ 2 × 1.8
    assert vote.share(5) == pytest.approx(5 / 7)


def test_cam_grid_follows_the_box_not_the_crop():
    cam = np.zeros((32, 32), np.float32)
    cam[8:24, 8:24] = 1.0  # bright exactly where the box sits inside the crop
    crop, box = (0, 0, 64, 64), (16, 16, 48, 48)
    grid = box_grid(cam, crop, box)
    assert grid.shape == (16, 16) and grid.min() > 0.99
    assert not peak_outside(cam, crop, box)
    cam2 = np.zeros((32, 32), np.float32)
    cam2[0, 0] = 1
    assert peak_outside(cam2, crop, box)


def test_stability_figures_on_identical_and_unrelated_maps():
    rng = np.random.default_rng(0)
    a = rng.random((16, 16))
    assert pearson(a, a) == pytest.approx(1.0) and top_iou(a, a) == 1.0
    assert pearson(a, np.ones_like(a)) is None
    b = rng.random((16, 16))
    assert abs(pearson(a, b)) < 0.3 and top_iou(a, b) < 0.4
    st = CamStability()
    cam = rng.random((32, 32)).astype(np.float32)
    for shift in range(3):  # the same CAM on a sign that moves and grows: stable in box terms
        crop = (100 + shift * 5, 50, 164 + shift * 7, 114 + shift * 2)
        box = (crop[0] + 8, crop[1] + 8, crop[2] - 8, crop[3] - 8)
        st.add(cam, crop, box)
    f = st.figures()
    assert f["pairs"] == 2 and f["frames"] == 3 and f["cam_pearson"] > 0.9


def test_signs_in_force_follow_the_rules():
    state = SignsInForce.for_classes(list(GTSRB_CLASSES), warning_hold_s=2.0)
    assert SignsInForce.for_classes(["a", "b"]) is None  # a user's own classes: no state
    assert state.sign(3, 1, 0.0) == ["speed limit 60"] and state.speed_limit == 60
    assert state.sign(3, 2, 1.0) == [] and state.limit_track == 2
    assert state.sign(6, 3, 1.0) == [] and state.speed_limit == 60  # ends 80 only
    state.sign(5, 4, 1.0)
    assert state.sign(6, 5, 1.0) == ["speed limit 80 ended"] and state.speed_limit is None
    assert state.sign(9, 6, 1.0) == ["no passing"]
    assert state.sign(42, 7, 1.0) == []  # ends the trucks' ban, not this one
    assert state.sign(25, 8, 1.0) == ["warning: road work"]
    snap = state.snapshot()
    assert snap["bans"] == [{"name": "no passing", "track_id": 6}]
    assert snap["warnings"] == [{"name": "road work", "track_id": 8}]
    state.seen(25, 8, 2.5)
    assert state.expire(4.0) == [] and state.expire(4.6) == ["warning over: road work"]
    state.sign(1, 9, 5.0)
    assert state.sign(32, 10, 5.0) == ["all limits ended"]
    assert state.snapshot()["speed_limit"] is None and state.snapshot()["bans"] == []


def test_a_track_of_weak_detections_is_never_confirmed():
    """min_score: a run of weak detections (a traffic light read as a sign at 0.5) stays on
    probation however long it lasts; a strong sign is confirmed at its min_frames-th frame."""
    tracker = BoxTracker(TrackerSettings(min_frames=2, drop_frames=5, overlap=0.3, min_score=0.6))
    weak, strong = np.array([[10, 10, 30, 30]], float), np.array([[200, 10, 220, 30]], float)
    for t in range(20):
        found = tracker.update(np.vstack([weak, strong]), t, np.array([0.5, 0.9]))
        assert not found.track_of[0].confirmed
        assert found.track_of[1].confirmed == (t >= 1)
