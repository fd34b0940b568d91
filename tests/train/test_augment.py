import pytest
import torch

from noisylabels.train.augment import Normalizer, augment, random_crop, random_flip


def _images(b=16, c=3, h=8, w=8):
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (b, c, h, w), generator=g, dtype=torch.uint8)


def _reference_crop(x, offsets, pad):
    """Per-image crop written the slow, obvious way."""
    out = torch.empty_like(x)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    for i, (dy, dx) in enumerate(offsets.tolist()):
        out[i] = padded[i, :, dy : dy + x.shape[2], dx : dx + x.shape[3]]
    return out


def test_random_crop_matches_per_image_reference():
    x = _images()
    gen = torch.Generator().manual_seed(3)
    got = random_crop(x, gen, padding=4)
    # Recompute the same offsets from a generator in the same state.
    gen2 = torch.Generator().manual_seed(3)
    offs = (torch.rand((x.shape[0], 2), generator=gen2) * 9).long()
    assert torch.equal(got, _reference_crop(x, offs, 4))
    assert got.dtype == torch.uint8 and got.shape == x.shape


def test_random_crop_offsets_cover_range():
    x = torch.ones(4000, 1, 4, 4, dtype=torch.uint8)
    out = random_crop(x, torch.Generator().manual_seed(0), padding=2)
    zeros_per_image = (out == 0).flatten(1).sum(1)
    assert zeros_per_image.min() == 0  # some images uncropped (offset = pad)
    assert zeros_per_image.max() == 16 - 4  # some shifted by 2 in both axes: a 2x2 patch left


def test_random_flip_flips_about_half_and_exactly():
    x = _images(b=2000)
    out = random_flip(x, torch.Generator().manual_seed(1))
    flipped = (out == x.flip(3)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert (flipped | kept).all()
    assert 900 < int(flipped.sum()) < 1100


def test_augment_deterministic_for_a_seed():
    x = _images()
    a = augment(x, "crop+flip", torch.Generator().manual_seed(5))
    b = augment(x, "crop+flip", torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert torch.equal(augment(x, "none", torch.Generator()), x)


def test_normalizer_matches_formula():
    x = _images(c=3)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    norm = Normalizer(mean, std, torch.device("cpu"), image=True)
    ref = (x.double() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(
        1, 3, 1, 1
    )
    assert torch.allclose(norm(x).double(), ref, atol=1e-5)
    feats = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    fn = Normalizer((1.0, -1.0), (2.0, 0.5), torch.device("cpu"), image=False)
    assert torch.allclose(fn(feats), (feats - torch.tensor([1.0, -1.0])) / torch.tensor([2.0, 0.5]))


def test_normalizer_channels_last_layout_same_values():
    x = _images(c=3)
    a = Normalizer((0.5,) * 3, (0.25,) * 3, torch.device("cpu"), image=True)(x)
    b = Normalizer((0.5,) * 3, (0.25,) * 3, torch.device("cpu"), image=True, channels_last=True)(x)
    assert b.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(a, b)


def test_crop_flip_source_equals_crop_then_flip():
    from noisylabels.train.augment import CropFlipSource

    x = _images(b=64, c=3, h=8, w=8)
    src = CropFlipSource(x, padding=2, flip=True)
    idx = torch.tensor([5, 0, 63, 5, 17])
    got = src.batch(idx, torch.Generator().manual_seed(4))
    r = torch.rand((5, 3), generator=torch.Generator().manual_seed(4))
    oy, ox = (r[:, 0] * 5).long(), (r[:, 1] * 5).long()
    flipped = r[:, 2] < 0.5
    ref = _reference_crop(x[idx], torch.stack([oy, ox], 1), 2)
    ref = torch.where(flipped.view(-1, 1, 1, 1), ref.flip(3), ref)
    assert torch.equal(got, ref)
    # Both branches occur over many draws, and offsets cover [0, 2p].
    many = src.batch(torch.zeros(2000, dtype=torch.long), torch.Generator().manual_seed(0))
    assert len({tuple(m.flatten().tolist()) for m in many[:, :1]}) > 20


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("flip", [False, True])
def test_row_source_equals_slice_then_random_flip(c, channels_last, flip):
    from noisylabels.train.augment import RowSource

    x = _images(b=64, c=c, h=6, w=5)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    src = RowSource(x, flip=flip)
    idx = torch.tensor([5, 0, 63, 5, 17, 40, 41, 2])
    g_src, g_ref = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    for _ in range(3):  # consecutive batches: the generator advances exactly as random_flip's
        got = src.batch(idx, g_src)
        ref = random_flip(x[idx], g_ref) if flip else x[idx]
        assert got.dtype == torch.uint8 and got.shape == ref.shape
        assert torch.equal(got, ref)
        if channels_last and c > 1:
            assert got.is_contiguous(memory_format=torch.channels_last)
    # Independent check of the flip itself: every returned image is its source or its mirror.
    if flip:
        got = src.batch(idx, torch.Generator().manual_seed(1))
        mirrored = [torch.equal(g, x[i].flip(2)) for g, i in zip(got, idx, strict=True)]
        same = [torch.equal(g, x[i]) for g, i in zip(got, idx, strict=True)]
        assert all(m or s for m, s in zip(mirrored, same, strict=True)) and any(mirrored)


def test_batch_source_picks_by_mode():
    from noisylabels.train.augment import CropFlipSource, RowSource, batch_source

    x = _images(b=8, c=3, h=6, w=6)
    assert isinstance(batch_source(x, "crop+flip"), CropFlipSource)
    assert isinstance(batch_source(x, "crop"), CropFlipSource)
    assert isinstance(batch_source(x, "flip"), RowSource) and batch_source(x, "flip").flip
    assert not batch_source(x, "none").flip
    assert batch_source(torch.zeros(8, 5), "none") is None  # features: plain slicing
