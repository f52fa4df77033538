"""The batched sign augmentation: a still config leaves images alone; the cast shadow only darkens,
reaches about half the images, and leaves part of each shadowed image lit; the occluding box
covers one rectangle of the drawn size in about half the images; the blur softens about
half the images and keeps their mean light."""

from __future__ import annotations

from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")

from edgexai.train.data.augment import (  # noqa: E402
    BLUR_P,
    ERASE_MIN_AREA,
    ERASE_P,
    SHADOW_P,
    AugmentConfig,
    augment_batch,
)

STILL = AugmentConfig(
    max_rotate_deg=0.0, scale=(1.0, 1.0), max_translate=0.0, brightness=0.0, contrast=0.0,
    saturation=0.0,
)  # fmt: skip


def _flat(n: int = 400, level: float = 0.6) -> torch.Tensor:
    return torch.full((n, 3, 40, 40), level)


def test_a_still_config_leaves_images_alone():
    x = torch.rand(8, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    y = augment_batch(x.clone(), STILL, torch.Generator().manual_seed(0))
    assert torch.allclose(x, y, atol=1e-5)


def test_the_shadow_only_darkens_and_reaches_about_half_the_images():
    depth = 0.7
    cfg = replace(STILL, shadow=depth)
    x = _flat()
    y = augment_batch(x.clone(), cfg, torch.Generator().manual_seed(0))
    assert (y <= x + 1e-6).all(), "a shadow never brightens"
    darkest = y.amin(dim=(1, 2, 3))
    assert (darkest >= 0.6 * (1 - depth) - 1e-5).all(), "no shadow deeper than `shadow`"
    shadowed = darkest < 0.6 * 0.98
    share = shadowed.float().mean().item()
    assert abs(share - SHADOW_P) < 0.1, share
    # an edge across the sign, not a uniform dimming: a lit part stays in most shadowed images
    brightest = y.amax(dim=(1, 2, 3))
    assert ((brightest[shadowed] - darkest[shadowed]) > 0.05).float().mean() > 0.9


def test_no_shadow_unless_asked():
    y = augment_batch(_flat(), STILL, torch.Generator().manual_seed(0))
    assert torch.allclose(y, _flat(), atol=1e-5)


@pytest.mark.parametrize("depth", [-0.1, 1.0, 1.5])
def test_a_shadow_outside_zero_to_one_is_refused(depth):
    with pytest.raises(ValueError, match="shadow"):
        AugmentConfig(shadow=depth)


def test_the_occluding_box_covers_one_rectangle_of_the_drawn_size_in_about_half_the_images():
    largest = 0.25
    x = _flat()
    y = augment_batch(x.clone(), replace(STILL, erase=largest), torch.Generator().manual_seed(0))
    changed = ((y - x).abs() > 1e-3).any(1)  # N×H×W: pixels the box replaced
    hit = changed.any(dim=(1, 2))
    assert abs(hit.float().mean().item() - ERASE_P) < 0.1
    area = changed[hit].float().mean(dim=(1, 2))
    assert area.min() >= ERASE_MIN_AREA * 0.5 and area.max() <= largest * 1.1, area
    for m in changed[hit][:50]:  # one solid rectangle: its bounding box is all replaced
        rows, cols = m.any(1).nonzero(), m.any(0).nonzero()
        box = m[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.float().mean() > 0.97
    assert torch.allclose(y[~hit], x[~hit], atol=1e-5), "the other images are left alone"


@pytest.mark.parametrize("largest", [-0.1, 0.01, 1.0])
def test_an_occluding_box_outside_its_range_is_refused(largest):
    with pytest.raises(ValueError, match="erase"):
        AugmentConfig(erase=largest)


def _roughness(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between horizontal neighbours, per image: high for fine detail."""
    return (x[..., 1:] - x[..., :-1]).abs().mean(dim=(1, 2, 3))


def test_the_blur_softens_about_half_the_images_and_keeps_their_light():
    x = torch.rand(400, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    y = augment_batch(x.clone(), replace(STILL, blur=1.5), torch.Generator().manual_seed(0))
    assert (_roughness(y) <= _roughness(x) + 1e-5).all(), "a blur never adds detail"
    softened = _roughness(y) < 0.9 * _roughness(x)
    # sigma is U(0, 1.5) in half the images; below ~0.4 px the blur is too light to count here
    assert BLUR_P * 0.6 < softened.float().mean().item() < BLUR_P + 0.1
    assert torch.allclose(y.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=0.02)
    untouched = (y - x).abs().amax(dim=(1, 2, 3)) < 1e-4
    assert untouched.float().mean().item() > 1 - BLUR_P - 0.1, "the other images are left alone"


@pytest.mark.parametrize("sigma", [-0.1, 3.5])
def test_a_blur_outside_its_range_is_refused(sigma):
    with pytest.raises(ValueError, match="blur"):
        AugmentConfig(blur=sigma)
