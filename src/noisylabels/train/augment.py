"""Batched tensor augmentation and normalisation (no per-sample Python, no torchvision).

All ops take a whole batch and an explicit :class:`torch.Generator`, so augmentation is
reproducible and never touches the global RNG. Crops and flips run on ``uint8`` images (four times
less memory traffic than float), normalisation comes last.
"""

from __future__ import annotations

import torch

# ImageNet statistics, used by the student report's pipeline.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _rand(shape: tuple[int, ...], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    # Draw on the generator's device, then move: keeps one CPU generator valid for CUDA runs.
    return torch.rand(shape, generator=gen, device=gen.device).to(device, non_blocking=True)


def random_flip(x: torch.Tensor, gen: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Flip each image of ``x`` (``(B, C, H, W)``) horizontally with probability ``p``."""
    mask = _rand((x.shape[0],), gen, x.device) < p
    out = x.clone()
    # Only the chosen images are flipped and written back: half the work of a full where().
    out[mask] = x[mask].flip(3)
    return out


def random_crop(x: torch.Tensor, gen: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Zero-pad each image by ``padding`` and crop it back at a random offset, per image.

    Equivalent to torchvision's ``RandomCrop(size, padding)`` applied image by image. All
    (2p+1)^2 crops of the padded batch are a strided view (``unfold``, no copy); one advanced
    index with a (row, column) offset per image picks each image's crop.
    """
    if padding <= 0:
        return x
    b, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    windows = padded.unfold(2, h, 1).unfold(3, w, 1)  # (B, C, 2p+1, 2p+1, H, W), a view
    offs = (_rand((b, 2), gen, x.device) * (2 * padding + 1)).long()
    bidx = torch.arange(b, device=x.device)
    # Indexing dims 0, 2, 3 with a slice between puts the indexed dim first: (B, C, H, W).
    return windows[bidx, :, offs[:, 0], offs[:, 1]]


def augment(x: torch.Tensor, mode: str, gen: torch.Generator) -> torch.Tensor:
    """Apply ``mode`` (``none``, ``flip``, ``crop``, ``crop+flip``) to a batch of images."""
    if mode in ("crop", "crop+flip"):
        x = random_crop(x, gen)
    if mode in ("flip", "crop+flip"):
        x = random_flip(x, gen)
    return x


class Normalizer:
    """Turn stored inputs into float model inputs: ``(x / 255 - mean) / std`` for uint8 images.

    Float features are standardised with their own mean and std. The constants live on the
    training device and are built once.
    """

    def __init__(
        self,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        device: torch.device,
        image: bool,
        channels_last: bool = False,
    ) -> None:
        self.image = image
        # Convolutions run markedly faster on NHWC tensors with oneDNN (CPU) and cuDNN.
        self.memory_format = torch.channels_last if image and channels_last else None
        shape = (1, -1, 1, 1) if image else (1, -1)
        m = torch.tensor(mean, dtype=torch.float32, device=device).view(shape)
        s = torch.tensor(std, dtype=torch.float32, device=device).view(shape)
        if image:
            # Fold the /255 into scale and shift: one fused multiply-add per element.
            self.scale = 1.0 / (255.0 * s)
            self.shift = -m / s
        else:
            self.scale = 1.0 / s
            self.shift = -m / s

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised float32 copy of ``x`` (in channels-last layout if asked for)."""
        out = torch.addcmul(self.shift, x.float(), self.scale)
        if self.memory_format is not None:
            out = out.contiguous(memory_format=self.memory_format)
        return out


class CropFlipSource:
    """Batches of randomly cropped (and flipped) images in one gather from a pre-padded copy.

    The training images are zero-padded once (and, for flips, stored mirrored too: cropping a
    mirrored padded image at the mirrored offset equals cropping then flipping). A batch is then
    a single advanced index into a strided view of all crops, which replaces the per-batch slice,
    pad, crop and flip (about 1.5 ms per 256 CIFAR images on 2 CPU cores) with one ~0.5 ms copy.
    The draws (offsets uniform in ``[0, 2p]``, flips with probability 1/2) are those of
    :func:`random_crop` and :func:`random_flip`. Costs ``(1 + flip)`` uint8 copies of the padded
    images in memory.

    Args:
        x: ``uint8`` images ``(N, C, H, W)``.
        padding: Zero padding of each side.
        flip: Also flip each image horizontally with probability 1/2.
    """

    def __init__(self, x: torch.Tensor, padding: int = 4, flip: bool = True) -> None:
        h, w = x.shape[2:]
        self.h, self.w, self.p, self.flip = h, w, padding, flip
        padded = torch.nn.functional.pad(x, (padding,) * 4)
        stack = [padded, padded.flip(3)] if flip else [padded]
        self.padded = torch.stack(stack)  # (F, N, C, H+2p, W+2p)
        # (F, N, C, 2p+1, 2p+1, H, W): every crop of every image, as a view.
        self.windows = self.padded.unfold(3, h, 1).unfold(4, w, 1)

    def batch(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Augmented images ``idx`` of the source, ``(B, C, H, W)`` uint8."""
        b = idx.shape[0]
        r = _rand((b, 3), gen, idx.device)
        oy = (r[:, 0] * (2 * self.p + 1)).long()
        ox = (r[:, 1] * (2 * self.p + 1)).long()
        if self.flip:
            f = (r[:, 2] < 0.5).long()
            ox = torch.where(f.bool(), 2 * self.p - ox, ox)
        else:
            f = torch.zeros_like(oy)
        return self.windows[f, idx, :, oy, ox]


class RowSource:
    """Batches of (optionally randomly flipped) images in one row gather.

    ``x[idx]`` on a 4-D tensor runs the generic strided-index kernel, and a flip adds a clone, a
    masked gather and a scatter: 0.88 ms per batch of 256 CIFAR images on 2 CPU cores. Here
    every image is one contiguous row of a 2-D ``uint8`` table (in the layout of ``x``, so a
    channels-last ``x`` gives channels-last batches), and, for flips, the mirrored images are
    rows ``N..2N-1``: a batch is then a single ``index_select`` (0.12 ms; measured with
    ``benchmarks/batch_gather.py``). The flip draws are those of :func:`random_flip` on the same
    generator, so batches are bit-identical to ``augment(x[idx], "flip", gen)``. With flips the
    table costs two ``uint8`` copies of the images (as given and mirrored); without, it is a view
    of ``x`` (a contiguous or channels-last ``x`` is already one row per image).

    Args:
        x: ``uint8`` images ``(N, C, H, W)``.
        flip: Flip each image horizontally with probability 1/2.
    """

    def __init__(self, x: torch.Tensor, flip: bool = True) -> None:
        n, c, h, w = x.shape
        self.n, self.flip = n, flip
        # NHWC rows for a channels-last x (C > 1: with one channel both layouts coincide).
        self.nhwc = c > 1 and not x.is_contiguous() and x.is_contiguous(
            memory_format=torch.channels_last
        )
        images = torch.cat([x, x.flip(3)]) if flip else x
        rows = images.permute(0, 2, 3, 1) if self.nhwc else images
        self.rows = rows.contiguous().view(images.shape[0], -1)
        self.shape = (h, w, c) if self.nhwc else (c, h, w)

    def batch(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Images ``idx`` of the source, flipped or not, ``(B, C, H, W)`` ``uint8``."""
        if self.flip:
            mask = _rand((idx.shape[0],), gen, idx.device) < 0.5
            idx = idx + mask.long() * self.n
        out = self.rows.index_select(0, idx).view(idx.shape[0], *self.shape)
        return out.permute(0, 3, 1, 2) if self.nhwc else out


def batch_source(x: torch.Tensor, mode: str) -> CropFlipSource | RowSource | None:
    """The fastest batch source for images ``x`` under augmentation ``mode`` (None: not images).

    Each source draws exactly what :func:`augment` draws, so the batches are the same.
    """
    if x.dim() != 4:
        return None
    if "crop" in mode:
        return CropFlipSource(x, 4, flip=mode == "crop+flip")
    return RowSource(x, flip=mode == "flip")
