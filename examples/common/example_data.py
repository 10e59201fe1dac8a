"""What the Python example scripts share, in numpy only (no torch): the tensor file format
(safetensors layout, docs/weights-format.md) and the photo patches both patch examples cut.

Scripts put this folder on sys.path:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
"""
import json
import math
import struct

import numpy as np

# ----------------------------------------------------------------------------- tensor files
_DTYPE_NAMES = {
    np.dtype("<f4"): "F32",
    np.dtype("<f8"): "F64",
    np.dtype("|u1"): "U8",
    np.dtype("<i8"): "I64",
    np.dtype("<i4"): "I32",
    np.dtype("|i1"): "I8",
}
_NUMPY_DTYPES = {name: dt for dt, name in _DTYPE_NAMES.items()}


def read_tensors(path):
    """All tensors of a file as read-only numpy arrays, and its __metadata__ (dict of str)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        payload = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        out[name] = np.frombuffer(payload[a:b], dtype=_NUMPY_DTYPES[h["dtype"]]).reshape(h["shape"])
    return out, meta


def write_tensors(path, tensors, metadata):
    """u64 LE header length, JSON header padded to 8 bytes (the payload stays 8-byte aligned),
    raw little-endian payload. metadata: dict of str -> str (the format allows only strings)."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        b = arr.tobytes()
        header[name] = {"dtype": _DTYPE_NAMES[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ----------------------------------------------------------------------------- photo patches
# Fraction of each image's width (from the left) the training patches come from; the rest is
# held out, so no held-out patch shares a pixel with a training patch.
TRAIN_FRACTION = 0.8


def load_images():
    """The four photographs Debian's python3-scipy and python3-sklearn bundle, uint8 grey."""
    try:
        import scipy.datasets as sd  # scipy >= 1.10, needs pooch (and a download)

        face, ascent = sd.face(gray=True), sd.ascent()
    except Exception:  # Debian's scipy 1.10 ships the files with scipy.misc (deprecated)
        import warnings

        import scipy.misc as sm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            face, ascent = sm.face(gray=True), sm.ascent()
    from sklearn.datasets import load_sample_images

    imgs = {"face": np.asarray(face, dtype=np.uint8), "ascent": np.clip(np.rint(ascent), 0, 255).astype(np.uint8)}
    for name, rgb in zip(["china", "flower"], load_sample_images().images):
        y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]  # ITU-R 601 luma
        imgs[name] = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return imgs


def cut_patches(imgs, n_total, split, seed, patch):
    """n_total patch x patch patches at fixed random positions, spread over the images by the
    area of their region: split = "train" takes columns [0, floor(0.8 W)), "test" columns
    [floor(0.8 W), W); a patch lies wholly inside its region.
    Returns (uint8 array [n, patch, patch], list of (image, row, col)), shuffled with the seed.
    """
    rng = np.random.default_rng(seed)
    regions = []
    for name in sorted(imgs):
        im = imgs[name]
        h, w = im.shape
        c = int(math.floor(TRAIN_FRACTION * w))
        lo, hi = (0, c) if split == "train" else (c, w)
        regions.append((name, im, lo, hi))
    areas = np.array([(im.shape[0] - patch + 1) * (hi - lo - patch + 1) for _, im, lo, hi in regions], float)
    counts = np.floor(n_total * areas / areas.sum()).astype(int)
    counts[np.argmax(areas)] += n_total - counts.sum()
    out, where = [], []
    for (name, im, lo, hi), n in zip(regions, counts):
        rows = rng.integers(0, im.shape[0] - patch + 1, size=n)
        cols = rng.integers(lo, hi - patch + 1, size=n)
        idx_r = rows[:, None, None] + np.arange(patch)[None, :, None]
        idx_c = cols[:, None, None] + np.arange(patch)[None, None, :]
        out.append(im[idx_r, idx_c])
        where += [(name, int(r), int(c)) for r, c in zip(rows, cols)]
    patches = np.concatenate(out)
    perm = rng.permutation(len(patches))
    return patches[perm], [where[i] for i in perm]


def to_model_units(u8, noise):
    """Uniform dequantisation: x = (u + noise) / 128 - 1, noise in [0, 1). The 256 bins of
    width 2/256 tile [-1, 1] (the bin width of bits/dim, docs/notation.md §7)."""
    return (u8.astype(np.float64) + noise) / 128.0 - 1.0
