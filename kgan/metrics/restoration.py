"""Reference points declared by the data: a degradation's classical inverse scored as if it were the output.

A restoration model should beat the method it replaces. The data transform (`data.transform`,
`kgan.data.transforms`) knows what that method is, so it, not the model, declares the point:

| data.transform | point | images scored as the output |
|---|---|---|
| `downsample:K[:kernel]` | `bicubic` | the low-resolution `source` upsampled bicubically to the output's size |
| `blur:...` | `wiener` | the blurred `source` deconvolved with its true kernel (`blur_kernel`) by a Wiener filter |

The Wiener filter is X = conj(H) Y / (|H|^2 + NSR) in the frequency domain (numpy FFT) with a constant
noise-to-signal ratio `WIENER_NSR` (images on [0, 1]), plus the declared noise variance (`+noise:S`: S^2) when
the transform adds noise. The blurred image is reflection-padded by the kernel size before the FFT, as the
transform padded the sharp one, which keeps the circular convolution's wrap-around off the image.
"""

from __future__ import annotations

import numpy as np

from kgan.imageio import to_uint8

#: The Wiener filter's noise-to-signal ratio on [0, 1] images. Measured on 64 MNIST digits (PSNR dB, blurred ->
#: Wiener at 1e-3 / 1e-2 / 3e-2): motion 20.4 -> 24.5 / 27.8 / 25.7, motion:13 16.4 -> 16.7 / 20.7 / 20.0,
#: Gaussian sigma 1 19.0 -> 30.1 / 26.0 / 23.7, trajectory 23.2 -> 47.1 / 36.5 / 31.1, motion+jpeg:75
#: 20.2 -> 18.4 / 23.7 / 23.7. Smaller ratios do better on kernels without zeros in their spectrum (a
#: Gaussian) and blow up noise on those with zeros (a line): 1e-2 is the one that helps on every kernel.
WIENER_NSR = 1e-2
#: Each point's description in reports.
POINTS = {"bicubic": "the low-resolution source upsampled bicubically (the classical super-resolution)",
          "wiener": "the blurred source deconvolved by a Wiener filter with its true kernel"}


def classical_inverses(data_cfg, rows: dict, shape) -> dict[str, np.ndarray]:
    """{point: uint8 NHWC images of per-example `shape`} of the data transform's classical inverses, made from
    the data rows (float features in [-1, 1]); empty when the transform declares none."""
    from kgan.data import transforms

    if data_cfg is None or not data_cfg.transform:
        return {}
    transform = transforms.parse(data_cfg.transform, data_cfg)
    if transform.name == "downsample":
        return {"bicubic": bicubic_upsample(to_uint8(np.asarray(rows["source"])), shape)}
    if transform.name == "blur":
        blurred = (np.asarray(rows["source"], np.float64) + 1.0) / 2.0
        restored = wiener_deconvolve(blurred, np.asarray(rows["blur_kernel"]), WIENER_NSR + transform.noise ** 2)
        return {"wiener": to_uint8(restored * 2.0 - 1.0)}
    return {}


def bicubic_upsample(images: np.ndarray, shape) -> np.ndarray:
    """uint8 NHWC images resized bicubically to per-example (H, W, C), rounded and clipped to uint8."""
    import tensorflow as tf

    height, width, _ = (int(d) for d in shape)
    resized = tf.image.resize(tf.constant(images, tf.float32), (height, width), method="bicubic").numpy()
    return np.clip(np.rint(resized), 0, 255).astype(np.uint8)


def wiener_deconvolve(blurred: np.ndarray, kernels: np.ndarray, nsr: float) -> np.ndarray:
    """Float NHWC images deconvolved, each by its own convolution kernel [N, L, L] (odd L), with the Wiener
    filter of noise-to-signal ratio `nsr`."""
    size = kernels.shape[-1]
    pad = size
    padded = np.pad(blurred, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    height, width = padded.shape[1:3]
    psf = np.zeros((len(kernels), height, width))
    psf[:, :size, :size] = kernels
    psf = np.roll(psf, (-(size // 2), -(size // 2)), axis=(1, 2))  # the kernel's centre at the origin
    transfer = np.fft.fft2(psf)[..., None]
    spectrum = np.fft.fft2(padded, axes=(1, 2))
    restored = np.fft.ifft2(np.conj(transfer) * spectrum / (np.abs(transfer) ** 2 + nsr), axes=(1, 2)).real
    return restored[:, pad:pad + blurred.shape[1], pad:pad + blurred.shape[2]]
