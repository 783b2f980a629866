"""The gallery's latent-tools section: real images projected into the model's latent space, a morph between two
projections, and samples steered towards each class by the classifier (`kgan.latent_tools`).

Kept cheap (a few real images, few starts and steps): it shows what the tools do on this model; `kgan latent
project` and bench/projection_quality.py are where projection quality is measured.
"""

from __future__ import annotations

import numpy as np

from kgan.errors import KganError
from kgan.gallery.sections import Group, Section

PROJECTED = 8
STARTS = 2
STEPS = 50
MORPH_FRAMES = 8
STEER_STEPS = 6
STEER_STEP = 0.4
STEER_BOUND = 3.0
MAX_CLASSES = 10


def latent_model(src):
    """The source's model opened for the latent tools (a run's model or an export's signatures)."""
    from kgan.latent_tools.space import from_model, from_served

    return from_model(src.gan, src.path) if src.kind == "run" else from_served(src.served, src.path)


def latent_section(src, real, writer, seed: int, extractor) -> Section:
    from kgan.imageio import to_uint8
    from kgan.latent_tools.distance import make_distance
    from kgan.latent_tools.judges import Judge
    from kgan.latent_tools.morph import morph
    from kgan.latent_tools.project import project
    from kgan.latent_tools.steer import steer

    features = f"classifier:{extractor.path}" if extractor is not None else None
    sec = Section("latent", "Latent tools",
                  f"Projection: {PROJECTED} real images (top) and the model's closest images (bottom), found by Adam "
                  f"from {STARTS} random starts in {STEPS} steps on pixel MSE"
                  f"{' + the classifier features' if features else ''} (`kgan latent project` does more). Morph: "
                  f"slerp between the first two projections. Steering: one sample per row moved along the "
                  f"classifier's gradient towards the row's class ({STEER_STEPS} steps of {STEER_STEP}, at most "
                  f"{STEER_BOUND} from the start).")
    if sec.lacks_model(src):
        return sec
    try:
        lm = latent_model(src)
    except KganError as e:
        sec.notes.append(f"Not applicable: {e}")
        return sec
    items = []
    if real is None:
        sec.notes.append("Missing: no real images to project (see Random samples).")
    else:
        pick = np.sort(np.random.default_rng(seed + 5).permutation(real.count)[:PROJECTED])
        targets = real.images_at(real.index_at(pick)).astype(np.float32) / 127.5 - 1.0
        result = project(lm, targets, make_distance(lm.image_shape, features), starts=STARTS, steps=STEPS, seed=seed)
        items.append(writer.grid("latent_projection.png", to_uint8(np.concatenate([targets, result.images])),
                                 len(targets), f"pixel MSE {result.pixel_mse.mean():.4f} (mean, images in [-1, 1])",
                                 alt="real images above their projections"))
        if len(targets) > 1:
            a, b = ({k: v[i:i + 1] for k, v in result.inputs.items()} for i in (0, 1))
            items.append(writer.grid("latent_morph.png", to_uint8(morph(lm, a, b, MORPH_FRAMES)[1]), MORPH_FRAMES,
                                     "morph (slerp) between the first two projections"))
    if extractor is None or not extractor.num_classes:
        sec.notes.append("Steering: no classifier with classes (RUN/classifier.keras or --classifier PATH).")
    else:
        judge = Judge(extractor.path, lm.image_shape)
        classes = min(judge.num_classes, MAX_CLASSES)
        start = {k: np.repeat(v, classes, axis=0) for k, v in lm.draw(1, seed + 6).items()}
        paths = steer(lm, judge, [str(k) for k in range(classes)], start, step=STEER_STEP, max_distance=STEER_BOUND,
                      steps=STEER_STEPS).images
        items.append(writer.grid("latent_steer.png", to_uint8(paths.reshape(-1, *paths.shape[2:])), STEER_STEPS + 1,
                                 f"rows: towards class 0 .. {classes - 1}; the start on the left"))
    if items:
        sec.items.append(Group(items))
    return sec
